// Transport/http1: HTTP/1.1 connection pools and request forwarding.
export * from './endpoint-pool.js';
export * from './exchange.js';
export * from './hop-by-hop.js';
export * from './request-target.js';
export * from './request-screen.js';
