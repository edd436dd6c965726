// Model: data shapes shared by control plane and data plane, with their validation.
export * from './instance.js';
export * from './protocol.js';
export * from './endpoint.js';
export * from './snapshot.js';
export * from './watch-event.js';
export * from './api.js';
export * from './validate.js';
export * from './balancer-kind.js';
export * from './policy.js';
export * from './stats.js';
export * from './request-classification.js';
export * from './jwt-policy.js';
export * from './authorization-policy.js';
export * from './policy-kinds.js';
export * from './net-values.js';
export * from './host-policy.js';
