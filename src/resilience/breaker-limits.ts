// Resilience: the limit breaker — caps on connections, pending requests and requests in flight that fail fast with OVERFLOW.
import { OverflowError } from '../core/index.js';

export interface BreakerLimitsOptions {
  /** Connections open to the target at once. */
  readonly maxConnections?: number;
  /** Requests waiting for a connection at once. */
  readonly maxPendingRequests?: number;
  /** Requests in flight at once. */
  readonly maxRequests?: number;
}

export type BreakerLimit = 'connections' | 'pending' | 'requests';

/**
 * Plain counters, one set per target (service or endpoint): acquire() before the resource is taken, release() exactly
 * once when it is given back. A full limit answers with an OverflowError at once rather than queueing, so a slow
 * upstream sheds load instead of piling it up (Envoy's circuit-breaker thresholds). An absent limit is unlimited.
 */
export class BreakerLimits {
  private readonly max: Record<BreakerLimit, number>;
  private readonly used: Record<BreakerLimit, number> = { connections: 0, pending: 0, requests: 0 };
  private readonly overflowed: Record<BreakerLimit, number> = { connections: 0, pending: 0, requests: 0 };

  constructor(options: BreakerLimitsOptions, private readonly target: string) {
    this.max = {
      connections: limit(options.maxConnections, 'maxConnections'),
      pending: limit(options.maxPendingRequests, 'maxPendingRequests'),
      requests: limit(options.maxRequests, 'maxRequests'),
    };
  }

  /** Takes one unit of `kind`, or returns the OverflowError to fail with (and takes nothing). */
  acquire(kind: BreakerLimit): OverflowError | null {
    if (this.used[kind] >= this.max[kind]) {
      this.overflowed[kind]++;
      return new OverflowError(this.target, kind, this.max[kind]);
    }
    this.used[kind]++;
    return null;
  }

  release(kind: BreakerLimit): void {
    if (this.used[kind] > 0) this.used[kind]--;
  }

  inUse(kind: BreakerLimit): number {
    return this.used[kind];
  }

  /** Refusals since creation, for an overflow counter in metrics. */
  overflows(kind: BreakerLimit): number {
    return this.overflowed[kind];
  }

  limit(kind: BreakerLimit): number {
    return this.max[kind];
  }
}

function limit(value: number | undefined, name: string): number {
  if (value === undefined) return Infinity;
  if (!(value >= 0)) throw new RangeError(`${name} must be a number ≥ 0`);
  return value;
}
