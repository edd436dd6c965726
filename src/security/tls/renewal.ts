// Security/TLS: when a workload certificate is renewed (at 2/3 of its lifetime) and the one timer that says so.
import type { Clock } from '../../core/index.js';

/** The share of a certificate's lifetime after which it is renewed: a 24 h certificate renews at 16 h. */
export const RENEW_AT_FRACTION = 2 / 3;

/** Wall-clock milliseconds at which a certificate valid from `notBeforeMs` to `notAfterMs` should be renewed. */
export function renewalTime(notBeforeMs: number, notAfterMs: number): number {
  return notBeforeMs + Math.max(0, notAfterMs - notBeforeMs) * RENEW_AT_FRACTION;
}

/** The timer functions a RenewalTimer arms; tests may hand in their own. */
export interface TimerHost {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: TimerHost = {
  set: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** setTimeout's largest delay; longer waits re-arm on expiry (a 1-year root would otherwise fire at once). */
const MAX_DELAY_MS = 2_147_483_647;

/**
 * Calls `onDue` once the clock's wall time reaches the scheduled instant. One instant at a time:
 * scheduling again replaces it. The callback is not run if the timer was stopped or rescheduled meanwhile.
 */
export class RenewalTimer {
  private handle: unknown = null;
  private dueAt: number | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: () => void,
    private readonly timers: TimerHost = realTimers,
  ) {}

  /** The instant currently waited for, or null. */
  get scheduledAt(): number | null {
    return this.dueAt;
  }

  schedule(wallMs: number): void {
    this.stop();
    this.dueAt = wallMs;
    this.arm();
  }

  stop(): void {
    if (this.handle !== null) this.timers.clear(this.handle);
    this.handle = null;
    this.dueAt = null;
  }

  private arm(): void {
    const dueAt = this.dueAt;
    if (dueAt === null) return;
    const delay = Math.max(0, dueAt - this.clock.wallNow());
    const handle: unknown = this.timers.set(() => {
      // A timer stopped or replaced meanwhile (its clear may come too late on some hosts) does nothing.
      if (this.handle !== handle) return;
      this.handle = null;
      if (this.clock.wallNow() < dueAt) {
        this.arm();
        return;
      }
      this.dueAt = null;
      this.onDue();
    }, Math.min(delay, MAX_DELAY_MS));
    this.handle = handle;
  }
}
