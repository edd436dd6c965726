// Rate limit: one token bucket — refilled continuously at a rate, holding at most `burst` tokens; time comes from the caller's clock.

export class TokenBucket {
  private tokens: number;
  private last: number;

  /** Starts full at `now` (milliseconds). */
  constructor(
    private readonly perMs: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes one token: 0 when there was one, else the milliseconds until the next one will be there (nothing taken). */
  take(now: number): number {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.perMs);
      this.last = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return (1 - this.tokens) / this.perMs;
  }
}
