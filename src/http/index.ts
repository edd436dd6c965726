// HTTP: the request-path contract every stage and adapter speaks, the mesh's own headers, and errors as statuses; no I/O.
export * from './message.js';
export * from './mesh-headers.js';
export * from './status.js';
export * from './grpc.js';
