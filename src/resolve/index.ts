// Resolve: how the data plane learns about the mesh — the control-plane client, its watch stream, static sources.
export * from './control-replicas.js';
export * from './control-client.js';
export * from './control-watch.js';
export * from './static-snapshot.js';
export * from './ndjson-lines.js';
