// Registry backends: fans committed changes out to watchers, replaying a short ring of recent ones so a watch can start slightly behind.
import { WeftError } from '../../core/index.js';
import type { BackendEvent } from '../backend.js';

const DEFAULT_CAPACITY = 1024;

export class ChangeFeed {
  private readonly recent: BackendEvent[] = [];
  /** Every event with version <= floor has left the ring (or predates this process). */
  private floor: number;
  private readonly listeners = new Set<(event: BackendEvent) => void>();
  private readonly wakers = new Set<() => void>();
  private closed = false;

  constructor(
    startRevision: number,
    private readonly capacity = DEFAULT_CAPACITY,
  ) {
    this.floor = startRevision;
  }

  /** Called once per committed change, in version order. */
  publish(event: BackendEvent): void {
    this.recent.push(event);
    if (this.recent.length > this.capacity) this.floor = this.recent.shift()!.version;
    for (const listener of this.listeners) listener(event);
  }

  close(): void {
    this.closed = true;
    for (const wake of this.wakers) wake();
  }

  async *watch(prefix: string, fromVersion: number, signal: AbortSignal): AsyncGenerator<BackendEvent> {
    if (fromVersion < this.floor) {
      // Like etcd's "required revision has been compacted": the caller must list() again.
      throw new WeftError('CONFLICT', `changes since revision ${fromVersion} are no longer kept; list again and watch from ${this.floor} or later`, {
        retryable: true,
      });
    }
    const queue: BackendEvent[] = [];
    for (const event of this.recent) if (event.version > fromVersion && event.key.startsWith(prefix)) queue.push(event);
    let wake: (() => void) | undefined;
    const waker = (): void => wake?.();
    const listener = (event: BackendEvent): void => {
      if (!event.key.startsWith(prefix)) return;
      queue.push(event);
      waker();
    };
    this.listeners.add(listener);
    this.wakers.add(waker);
    signal.addEventListener('abort', waker);
    try {
      let head = 0;
      while (!signal.aborted && !this.closed) {
        if (head === queue.length) {
          queue.length = 0;
          head = 0;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        yield queue[head++]!;
      }
    } finally {
      this.listeners.delete(listener);
      this.wakers.delete(waker);
      signal.removeEventListener('abort', waker);
    }
  }
}
