// Proxy: the sidecar's servers and their assembly.
export * from './sidecar.js';
export * from './outbound-server.js';
export * from './inbound-server.js';
export * from './admin-server.js';
export * from './drain.js';
export * from './app-port.js';
