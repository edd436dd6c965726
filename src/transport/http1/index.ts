// Transport/http1: HTTP/1.1 adapters between sockets and the request-path contract: node:http on the server side, our own keep-alive client on the other.
export * from './endpoint-pool.js';
export * from './server-adapter.js';
export * from './hop-by-hop.js';
export * from './request-target.js';
export * from './request-screen.js';
export * from './upgrade-adapter.js';
