// Registry: liveness kept in this process's memory, for the memory and embedded backends (one control plane per store).
import type { Clock } from '../core/index.js';
import { LeaseTable } from './lease-table.js';
import type { Liveness } from './liveness.js';

export class MemoryLiveness implements Liveness {
  private readonly table = new LeaseTable();

  constructor(private readonly clock: Clock) {}

  async renew(id: string, ttlMs: number): Promise<void> {
    this.table.renew(id, ttlMs, this.clock.now());
  }

  async forget(id: string): Promise<void> {
    this.table.drop(id);
  }

  track(id: string, ttlMs: number, now: number): void {
    if (!this.table.has(id)) this.table.renew(id, ttlMs, now);
  }

  untrack(id: string): void {
    this.table.drop(id);
  }

  lapsed(now: number): Iterable<[string, number]> {
    return this.table.lapsed(now);
  }

  async close(): Promise<void> {}
}
