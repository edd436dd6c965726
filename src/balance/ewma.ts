// Balance: the peak-EWMA latency estimate of one endpoint, with its outstanding-request count, for the p2c-ewma picker.

export interface PeakEwmaOptions {
  /** Time constant of the decay, in ms: after this long without news an estimate has fallen to ~37% of itself. */
  readonly decayMs: number;
  /** The estimate a new endpoint starts with, so it gets traffic at once but not a flood. */
  readonly defaultRttMs: number;
  /** A failed attempt counts as at least this latency, so a fast-failing endpoint does not attract traffic. */
  readonly failurePenaltyMs: number;
}

export const PEAK_EWMA_DEFAULTS: PeakEwmaOptions = { decayMs: 10_000, defaultRttMs: 30, failurePenaltyMs: 1_000 };

/**
 * A slower observation replaces the estimate at once (the peak); faster ones pull it down only as fast
 * as time passes, so one lucky response cannot undo a slow streak. Between observations the estimate
 * decays toward zero, which is what eventually sends a probe to an endpoint that was shunned as slow.
 */
export class PeakEwma {
  private estimateMs: number;
  private stampMs: number;
  /** Requests picked and not yet done. */
  outstanding = 0;

  constructor(
    private readonly decayMs: number,
    initialMs: number,
    nowMs: number,
  ) {
    this.estimateMs = initialMs;
    this.stampMs = nowMs;
  }

  observe(latencyMs: number, nowMs: number): void {
    const rtt = latencyMs > 0 ? latencyMs : 0;
    if (rtt >= this.estimateMs) {
      this.estimateMs = rtt;
    } else {
      const w = this.weight(nowMs);
      this.estimateMs = this.estimateMs * w + rtt * (1 - w);
    }
    if (nowMs > this.stampMs) this.stampMs = nowMs;
  }

  /** The decayed estimate at `nowMs`; read-only, so a pick that loses the comparison changes nothing. */
  estimate(nowMs: number): number {
    return this.estimateMs * this.weight(nowMs);
  }

  /** What sending one more request here is expected to cost: latency × (outstanding + 1). */
  cost(nowMs: number): number {
    return this.estimate(nowMs) * (this.outstanding + 1);
  }

  private weight(nowMs: number): number {
    const elapsed = nowMs - this.stampMs;
    return elapsed > 0 ? Math.exp(-elapsed / this.decayMs) : 1;
  }
}
