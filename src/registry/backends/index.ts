// Registry backends: the in-memory store and the durable embedded log.
export { MemoryBackend } from './memory-backend.js';
export * from './embedded/index.js';
