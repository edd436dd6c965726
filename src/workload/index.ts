// Workload: what any process in the mesh needs, sidecar or in-process SDK alike — the control-plane client, registration with heartbeats, the workload certificate.
export * from './control-replicas.js';
export * from './control-client.js';
export * from './registration.js';
export * from './workload-certificates.js';
