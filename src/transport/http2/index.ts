// Transport/http2: HTTP/2 and h2c adapters between node:http2 and the request-path contract, server side and client side.
export * from './headers.js';
export * from './server-exchange.js';
export * from './server-sessions.js';
export * from './client-pool.js';
