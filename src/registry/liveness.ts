// Registry: the TTL liveness of instances — renewed by heartbeats, lapsing without them — behind one contract per backend.

/**
 * Local backends keep liveness in process memory (a heartbeat costs no write); shared backends keep it in
 * the store (etcd leases), so that every control plane on the store sees the same liveness and any of them
 * can renew what another granted.
 */
export interface Liveness {
  /** Starts or renews an instance's TTL; the instance is not lapsed afterwards. */
  renew(id: string, ttlMs: number): Promise<void>;
  /** Stops tracking an instance that was deregistered or removed, releasing what the store holds for it. */
  forget(id: string): Promise<void>;
  /**
   * An instance this control plane learned about (at load, or written by another control plane). Unless its
   * liveness is already known, it gets a fresh TTL window from now: a restart must not expire live instances.
   */
  track(id: string, ttlMs: number, now: number): void;
  /** Forgets local state only (the instance is gone from the registry). */
  untrack(id: string): void;
  /** Instances whose TTL lapsed at or before `now`, with the clock time of the lapse. */
  lapsed(now: number): Iterable<[id: string, lapsedAt: number]>;
  close(): Promise<void>;
}
