// Core: time goes through a Clock so that tests can drive it — readings and the timers of the request path alike.

/** A pending timer; give it back to the clock that made it to cancel it. */
export type TimerHandle = object;

export interface Clock {
  /** Milliseconds, monotonic within a process. */
  now(): number;
  /** Milliseconds since the Unix epoch, for records that outlive the process. */
  wallNow(): number;
  /**
   * Calls `callback(arg)` once, `ms` from now. The argument spares the caller a closure per request: pass the
   * object the timer belongs to and a module-level function.
   */
  setTimer<T>(callback: (arg: T) => void, ms: number, arg: T): TimerHandle;
  /** Cancels a timer that has not fired yet; a fired or cancelled one is ignored. */
  clearTimer(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimer: (callback, ms, arg) => setTimeout(callback, ms, arg),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface ManualTimer {
  readonly due: number;
  readonly seq: number;
  readonly fire: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to; its timers fire, in due order, as `advance` passes them. */
export class ManualClock implements Clock {
  private current: number;
  private timers: ManualTimer[] = [];
  private seq = 0;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  wallNow(): number {
    return this.current;
  }

  setTimer<T>(callback: (arg: T) => void, ms: number, arg: T): TimerHandle {
    const timer: ManualTimer = { due: this.current + Math.max(0, ms), seq: this.seq++, fire: () => callback(arg), cancelled: false };
    this.timers.push(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    (handle as ManualTimer).cancelled = true;
    this.timers = this.timers.filter((timer) => timer !== handle);
  }

  /** Timers not yet fired or cancelled. */
  pending(): number {
    return this.timers.length;
  }

  /** Moves time on by `ms`, firing every timer that falls due on the way (timers they set included) at its own time. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const timer of this.timers) {
        if (timer.due <= end && (next === undefined || timer.due < next.due || (timer.due === next.due && timer.seq < next.seq))) next = timer;
      }
      if (next === undefined) break;
      this.timers = this.timers.filter((timer) => timer !== next);
      if (next.due > this.current) this.current = next.due;
      if (!next.cancelled) next.fire();
    }
    this.current = end;
  }
}
