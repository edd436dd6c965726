// Transport/http1: HTTP/1.1 adapters between sockets and the request-path contract: node:http server side, undici client side.
export * from './endpoint-pool.js';
export * from './server-adapter.js';
export * from './hop-by-hop.js';
export * from './request-target.js';
export * from './request-screen.js';
