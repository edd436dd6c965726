// Registry: the registry model over pluggable storage backends (memory, embedded log, etcd).
export { VersionConflictError, checkCondition, type RegistryBackend, type Versioned, type BackendEvent, type WriteCondition } from './backend.js';
export { Registry, TTL_EXPIRED, type RegistryOptions, type WatchSubscription } from './registry.js';
export type { WatchListener } from './watch-history.js';
export * from './backends/index.js';
export { POLICY_PREFIX } from './policy-codec.js';
