// Transport: protocols on the wire and the connectors under them — HTTP/1.1 and HTTP/2 — and what their server sides share.
export * from './connector.js';
export * from './server-exchange.js';
export * from './http1/index.js';
