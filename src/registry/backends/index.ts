// Registry backends: the in-memory store, the durable embedded log and etcd.
export { MemoryBackend } from './memory-backend.js';
export * from './embedded/index.js';
export * from './etcd/index.js';
