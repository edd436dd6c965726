// Core: time goes through a Clock so that tests can drive it.

export interface Clock {
  /** Milliseconds, monotonic within a process. */
  now(): number;
  /** Milliseconds since the Unix epoch, for records that outlive the process. */
  wallNow(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
};

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  private current: number;
  constructor(start = 0) {
    this.current = start;
  }
  now(): number {
    return this.current;
  }
  wallNow(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}
