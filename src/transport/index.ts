// Transport: protocols on the wire and the connectors under them — HTTP/1.1 and HTTP/2 — and what their server sides share.
export * from './connector.js';
export * from './server-exchange.js';
export * from './preface-sniff.js';
export * from './http-front.js';
export * from './http1/index.js';
export * from './http2/index.js';
export * from './endpoint-pools.js';
