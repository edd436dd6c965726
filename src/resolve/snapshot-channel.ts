// Resolve: holds the current snapshot and hands each new one to every subscriber — the shared half of every SnapshotSource.
import { EMPTY_SNAPSHOT, type Snapshot } from '../model/index.js';

export class SnapshotChannel {
  private snapshot: Snapshot;
  private readonly listeners = new Set<(snapshot: Snapshot) => void>();

  constructor(
    initial: Snapshot = EMPTY_SNAPSHOT,
    /** Told about a subscriber that threw; the others still get the snapshot. */
    private readonly onListenerError: (error: unknown) => void = () => undefined,
  ) {
    this.snapshot = initial;
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

  publish(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    for (const listener of [...this.listeners]) {
      try {
        listener(snapshot);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
