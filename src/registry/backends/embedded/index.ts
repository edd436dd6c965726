// Embedded store: the durable registry backend, its errors and file layout.
export { EmbeddedBackend, LOG_FILE, type EmbeddedBackendOptions } from './embedded-backend.js';
export { StoreCorruptError, StoreLockedError, StoreClosedError, StoreFullError, StoreReadOnlyError, StoreUnavailableError, type LockHolder } from './store-errors.js';
export type { LogOpener } from './log-writer.js';
