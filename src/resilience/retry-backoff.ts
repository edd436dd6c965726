// Resilience: the pause before a retry — exponential with full jitter, so retries of many clients do not line up.
import type { Rng } from '../core/index.js';

export interface RetryBackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * The delay before retry number `retry` (1 for the first retry): uniform in [0, min(maxMs, baseMs × 2^(retry−1))].
 * Full jitter rather than core's Backoff (which keeps a floor of base/2): AWS's analysis shows full jitter spreads
 * synchronized clients best, and a stateless function needs no object per request.
 */
export function retryBackoffMs(retry: number, options: RetryBackoffOptions, rng: Rng): number {
  const exponent = Math.min(Math.max(retry - 1, 0), 30);
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  return ceiling > 0 ? rng.next() * ceiling : 0;
}
