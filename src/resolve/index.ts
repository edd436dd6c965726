// Resolve: how the data plane learns about the mesh — the control-plane watch stream and static sources (the REST client lives in workload/).
export * from './control-watch.js';
export * from './static-snapshot.js';
export * from './ndjson-lines.js';
