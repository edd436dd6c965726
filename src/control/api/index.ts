// Control API: the weft REST API and its watch stream.
export { addRestRoutes, assertMayActForInstance, assertMayRegister } from './rest-routes.js';
export { addPolicyRoutes } from './policy-routes.js';
export { WatchStreams, type WatchStreamOptions } from './watch-stream.js';
