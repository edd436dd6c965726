// Transport: protocols on the wire and the connectors under them; HTTP/1.1 for now.
export * from './connector.js';
export * from './http1/index.js';
