// Registry: TTL leases kept in memory only, so a heartbeat costs no disk write; checked by one periodic sweep.

export class LeaseTable {
  /** Instance id -> clock time at which its TTL lapses. */
  private readonly deadlines = new Map<string, number>();

  renew(id: string, ttlMs: number, now: number): void {
    this.deadlines.set(id, now + ttlMs);
  }

  has(id: string): boolean {
    return this.deadlines.has(id);
  }

  deadline(id: string): number | undefined {
    return this.deadlines.get(id);
  }

  drop(id: string): void {
    this.deadlines.delete(id);
  }

  /** Ids whose TTL lapsed at or before `now`, with their deadline. */
  *lapsed(now: number): Generator<[id: string, deadline: number]> {
    for (const [id, deadline] of this.deadlines) if (deadline <= now) yield [id, deadline];
  }
}
