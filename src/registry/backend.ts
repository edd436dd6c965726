// Registry: the storage contract every registry backend (memory, embedded log, etcd) fulfils.
import { VersionConflictError, type Clock } from '../core/index.js';
import type { Liveness } from './liveness.js';

export interface Versioned {
  readonly key: string;
  readonly value: Uint8Array;
  /** Store revision at which this value was written. */
  readonly version: number;
}

export type BackendEvent =
  | { readonly type: 'put'; readonly key: string; readonly value: Uint8Array; readonly version: number }
  | { readonly type: 'delete'; readonly key: string; readonly version: number };

/**
 * A compare-and-set condition: the write happens only if the key's current version (the revision of its
 * last write, 0 when absent) equals `ifVersion`; otherwise it fails with a VersionConflictError and
 * changes nothing. Lets several control planes on one store act on the same instance without racing.
 */
export interface WriteCondition {
  readonly ifVersion?: number;
}

export interface RegistryBackend {
  /** Durably stores the value (fsync'd before the promise resolves, for durable backends); returns the new store revision. */
  put(key: string, value: Uint8Array, condition?: WriteCondition): Promise<number>;
  /** Durably deletes the key; returns the new store revision, or the current one when the key did not exist. */
  delete(key: string, condition?: WriteCondition): Promise<number>;
  /** All live keys under the prefix, with the store revision they were read at. */
  list(prefix: string): Promise<{ readonly revision: number; readonly items: readonly Versioned[] }>;
  /** One key, or undefined when it does not exist: a lookup, not a scan (an API token is read per request). */
  get(key: string): Promise<Versioned | undefined>;
  /** Changes under the prefix with version > fromVersion, in order, until the signal aborts. */
  watch(prefix: string, fromVersion: number, signal: AbortSignal): AsyncIterable<BackendEvent>;
  /**
   * Identity of this store's history: revisions are comparable only between equal ids. A durable store keeps
   * its id for life; an in-memory one gets a new id per process, so a watcher that resumes after a restart
   * gets a full reset instead of events from a history that no longer exists.
   */
  readonly storeId: string;
  /**
   * Liveness kept in the store itself, for backends shared by several control planes; undefined means the
   * registry keeps liveness in its own memory.
   */
  liveness?(clock: Clock): Liveness;
  /** Current store revision (0 for an empty store). */
  revision(): number;
  close(): Promise<void>;
}

export { VersionConflictError };

/** Throws VersionConflictError unless the condition holds for a key currently at `actual` (0 = absent). */
export function checkCondition(key: string, actual: number, condition: WriteCondition | undefined): void {
  if (condition?.ifVersion !== undefined && condition.ifVersion !== actual) throw new VersionConflictError(key, condition.ifVersion, actual);
}
