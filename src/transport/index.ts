// Transport: protocols on the wire; HTTP/1.1 for now.
export * from './http1/index.js';
