// Security CA: where the CA state lives — the contract shared by the data-dir files and the registry backend (etcd).
import type { CaStateDocument } from './ca-state.js';

export interface StoredState {
  readonly state: CaStateDocument;
  /** Opaque version for compare-and-set. */
  readonly version: number;
}

export interface CaStore {
  /** Where the state lives, for messages (a file path or a backend key). */
  readonly location: string;
  load(): Promise<StoredState | undefined>;
  /** Stores `state` unless a state exists already; either way returns what is stored now (first writer wins). */
  createIfAbsent(state: CaStateDocument): Promise<StoredState>;
  /** Replaces the state if it is still at `version`; throws VersionConflictError otherwise. Returns the new version. */
  replace(state: CaStateDocument, version: number): Promise<number>;
}
