// Core: exponential backoff with full jitter, for reconnect and retry loops.
import type { Rng } from './rng.js';

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export class Backoff {
  private attempt = 0;
  constructor(
    private readonly options: BackoffOptions,
    private readonly rng: Rng,
  ) {}

  /** The next delay: uniform in [base/2, min(max, base * 2^attempt)]. */
  next(): number {
    const ceiling = Math.min(this.options.maxMs, this.options.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    const floor = Math.min(this.options.baseMs / 2, ceiling);
    return floor + this.rng.next() * (ceiling - floor);
  }

  reset(): void {
    this.attempt = 0;
  }
}
