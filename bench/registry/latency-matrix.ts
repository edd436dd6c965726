// Bench (registry): when each watcher first saw each tagged write, as latencies in a write-major matrix.
import type { Tag } from './watch-line.js';

export class LatencyMatrix {
  readonly latencies: Float64Array;

  constructor(
    readonly capacity: number,
    readonly watchers: number,
  ) {
    this.latencies = new Float64Array(capacity * watchers).fill(Number.NaN);
  }

  /** Records the first sighting only: a reset repeating a write seen before says nothing new. */
  record(watcher: number, tag: Tag, receivedAt: number): void {
    if (tag.seq < 0 || tag.seq >= this.capacity) return;
    const index = tag.seq * this.watchers + watcher;
    if (Number.isNaN(this.latencies[index])) this.latencies[index] = receivedAt - tag.sent;
  }

  unseen(from: number, to: number): number {
    let unseen = 0;
    const end = Math.min(to, this.capacity) * this.watchers;
    for (let i = Math.max(0, from) * this.watchers; i < end; i++) if (Number.isNaN(this.latencies[i])) unseen++;
    return unseen;
  }

  rows(from: number, to: number): Float64Array {
    return this.latencies.slice(Math.max(0, from) * this.watchers, Math.min(to, this.capacity) * this.watchers);
  }
}
