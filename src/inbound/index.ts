// Inbound: the stages a request from a peer goes through before the local app — admission, then the app's endpoint.
export * from './admission-policy.js';
export * from './admission-metrics.js';
export * from './admission.js';
export * from './app-endpoint.js';
export * from './jwt-forward-headers.js';
