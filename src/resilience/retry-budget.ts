// Resilience: the retry budget — retries stay within a ratio of recent requests plus a small reserve, so failures never become retry storms.
import type { Clock } from '../core/index.js';

export interface RetryBudgetOptions {
  /** Retries allowed per request in the window (0.2 = at most one retry for five requests). */
  readonly ratio: number;
  /** Retries allowed per second regardless of traffic, so a quiet service can still retry. */
  readonly minPerSecond: number;
  /** Length of the sliding window; 10 s unless set. */
  readonly ttlMs?: number;
}

export interface RetryBudgetStats {
  readonly requests: number;
  readonly retries: number;
  /** Retries that could still be spent in the current window. */
  readonly available: number;
}

export const RETRY_BUDGET_DEFAULT_TTL_MS = 10_000;
/** The window slides bucket by bucket: a tenth of the window at a time. */
const BUCKETS = 10;

/**
 * A retry is allowed while retries in the window + 1 ≤ ratio × requests in the window + reserve, where the reserve is
 * minPerSecond × the seconds the window covers. The reserve accrues from the budget's creation (counting the current
 * bucket whole) instead of being granted whole at once: over any stretch of T seconds, retries stay within
 * ratio × requests + minPerSecond × (T + one bucket) — a budget just built cannot spend ten seconds of reserve in one.
 * Every call is O(1) amortised: buckets are plain counters in fixed arrays, cleared as the clock passes them.
 */
export class RetryBudget {
  private readonly ratio: number;
  private readonly minPerSecond: number;
  private readonly bucketMs: number;
  private readonly windowMs: number;
  private readonly requestBuckets = new Float64Array(BUCKETS);
  private readonly retryBuckets = new Float64Array(BUCKETS);
  private readonly createdAt: number;
  /** Index (in bucket units since creation) of the newest bucket written. */
  private head = 0;
  private requests = 0;
  private retries = 0;
  private refused = 0;

  constructor(options: RetryBudgetOptions, private readonly clock: Clock) {
    if (!(options.ratio >= 0)) throw new RangeError('retry budget ratio must be a number ≥ 0');
    if (!(options.minPerSecond >= 0)) throw new RangeError('retry budget minPerSecond must be a number ≥ 0');
    const ttlMs = options.ttlMs ?? RETRY_BUDGET_DEFAULT_TTL_MS;
    if (!(ttlMs >= BUCKETS)) throw new RangeError(`retry budget ttlMs must be ≥ ${BUCKETS}`);
    this.ratio = options.ratio;
    this.minPerSecond = options.minPerSecond;
    this.bucketMs = ttlMs / BUCKETS;
    this.windowMs = this.bucketMs * BUCKETS;
    this.createdAt = clock.now();
  }

  /** Deposit: one original request (not a retry) was sent. */
  recordRequest(): void {
    const slot = this.advance();
    this.requestBuckets[slot]! += 1;
    this.requests += 1;
  }

  /** Withdraw: one retry was sent. Callers ask canRetry() first, or use tryRetry(). */
  recordRetry(): void {
    const slot = this.advance();
    this.retryBuckets[slot]! += 1;
    this.retries += 1;
  }

  canRetry(): boolean {
    this.advance();
    return this.retries + 1 <= this.allowance();
  }

  /** canRetry() and recordRetry() in one step; counts refusals for metrics. */
  tryRetry(): boolean {
    if (!this.canRetry()) {
      this.refused++;
      return false;
    }
    this.recordRetry();
    return true;
  }

  /** Retries refused since the budget was built (a counter for metrics). */
  refusedTotal(): number {
    return this.refused;
  }

  stats(): RetryBudgetStats {
    this.advance();
    const allowance = this.allowance();
    return { requests: this.requests, retries: this.retries, available: Math.max(0, Math.floor(allowance - this.retries)) };
  }

  private allowance(): number {
    const covered = Math.min(this.windowMs, (this.head + 1) * this.bucketMs);
    return this.ratio * this.requests + (this.minPerSecond * covered) / 1000;
  }

  /** Moves the window to now, clearing the buckets it slid past; returns the current bucket's slot. */
  private advance(): number {
    const index = Math.floor((this.clock.now() - this.createdAt) / this.bucketMs);
    if (index > this.head) {
      // After a quiet spell longer than the window, every bucket is stale: clear at most BUCKETS of them.
      const from = Math.max(this.head + 1, index - BUCKETS + 1);
      for (let i = from; i <= index; i++) {
        const slot = i % BUCKETS;
        this.requests -= this.requestBuckets[slot]!;
        this.retries -= this.retryBuckets[slot]!;
        this.requestBuckets[slot] = 0;
        this.retryBuckets[slot] = 0;
      }
      this.head = index;
    }
    return this.head % BUCKETS;
  }
}
