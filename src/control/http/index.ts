// Control HTTP: server plumbing shared by the control plane's APIs — routing, bodies, replies, error rescue.
export * from './router.js';
export * from './json-body.js';
export * from './reply.js';
export * from './rescue.js';
export * from './principal.js';
