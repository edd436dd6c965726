// Resolve: a SnapshotSource over a fixed list of instances, for static configuration and tests.
import { snapshotFromInstances, type Instance, type Snapshot, type SnapshotSource } from '../model/index.js';

export class StaticSnapshotSource implements SnapshotSource {
  private snapshot: Snapshot;
  private readonly listeners = new Set<(snapshot: Snapshot) => void>();

  constructor(instances: Iterable<Instance> = [], version = 0) {
    this.snapshot = snapshotFromInstances(version, instances);
  }

  current(): Snapshot {
    return this.snapshot;
  }

  subscribe(listener: (snapshot: Snapshot) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Replaces the whole state and tells every subscriber. */
  set(instances: Iterable<Instance>, version = this.snapshot.version + 1): void {
    this.snapshot = snapshotFromInstances(version, instances);
    for (const listener of [...this.listeners]) listener(this.snapshot);
  }
}
