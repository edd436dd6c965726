// Outbound: the stages a workload's calls to other services go through, and the per-service stacks built from the snapshot.
export * from './service-policy.js';
export * from './host-routes.js';
export * from './circuit.js';
export * from './logical.js';
export * from './concrete.js';
export * from './endpoint.js';
export * from './outbound-stack.js';
