// Registry: the ring of recent change events that lets a watcher resume from a version instead of starting over.
import type { WatchEvent } from '../model/index.js';

export type WatchListener = (event: WatchEvent) => void;

export class WatchHistory {
  private events: WatchEvent[] = [];
  /** Every change with version <= floor has left the ring (or happened before the registry loaded). */
  private floor: number;
  private readonly listeners = new Set<WatchListener>();

  constructor(
    floor: number,
    private readonly capacity: number,
    private readonly onListenerError: (error: unknown) => void,
  ) {
    this.floor = floor;
  }

  push(event: WatchEvent): void {
    this.events.push(event);
    if (this.events.length > this.capacity) this.floor = this.events.shift()!.version;
    this.broadcast(event);
  }

  /** Forgets history (after a full reload): every resume from before `version` must start with a reset. */
  rebase(version: number): void {
    this.events = [];
    this.floor = version;
  }

  /** The changes after `since`, or undefined when they are not all known (too old, or newer than `current`). */
  since(since: number, current: number): WatchEvent[] | undefined {
    if (since > current || since < this.floor) return undefined;
    const out: WatchEvent[] = [];
    for (const event of this.events) if (event.version > since) out.push(event);
    return out;
  }

  subscribe(listener: WatchListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  broadcast(event: WatchEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
