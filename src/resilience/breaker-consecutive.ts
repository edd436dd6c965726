// Resilience: the consecutive-failure breaker — closed, open after N failures in a row, half-open probes, closed again.
import { CircuitOpenError, type Clock } from '../core/index.js';

export interface ConsecutiveBreakerOptions {
  /** Failures in a row that open the circuit; 0 leaves the breaker off (it never opens), as the policy default does. */
  readonly consecutiveFailures: number;
  /** How long the circuit stays open before probes are let through. */
  readonly openMs: number;
  /** Requests let through while half-open; that many successes close the circuit. 1 unless set. */
  readonly halfOpenProbes?: number;
  readonly onStateChange?: (state: BreakerState) => void;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** The state as a number, for a gauge: 0 closed, 1 open, 2 half-open. */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, open: 1, 'half-open': 2 };

/**
 * One breaker per target. Per request: admit() before sending (null = go ahead, or the CircuitOpenError to fail fast
 * with), then exactly one of onSuccess()/onFailure() — or onCancel() when an admitted request ended without a verdict,
 * which gives a half-open probe slot back. Open turns half-open lazily, on the first admit() after openMs: no timers.
 * Outcomes of requests admitted before the circuit opened are ignored while it is open; while half-open, any failure
 * opens it again (the probes were meant to show the target recovered).
 */
export class ConsecutiveBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probesInFlight = 0;
  private probeSuccesses = 0;
  private opened = 0;
  private readonly probes: number;

  constructor(private readonly options: ConsecutiveBreakerOptions, private readonly clock: Clock, private readonly target: string) {
    if (!Number.isInteger(options.consecutiveFailures) || options.consecutiveFailures < 0) throw new RangeError('consecutiveFailures must be an integer ≥ 0');
    if (!(options.openMs >= 0)) throw new RangeError('openMs must be a number ≥ 0');
    this.probes = Math.max(1, options.halfOpenProbes ?? 1);
  }

  admit(): CircuitOpenError | null {
    if (this.current === 'closed') return null;
    if (this.current === 'open') {
      const waited = this.clock.now() - this.openedAt;
      if (waited < this.options.openMs) return new CircuitOpenError(this.target, Math.ceil(this.options.openMs - waited));
      this.moveTo('half-open');
    }
    if (this.probesInFlight + this.probeSuccesses >= this.probes) return new CircuitOpenError(this.target, 0);
    this.probesInFlight++;
    return null;
  }

  onSuccess(): void {
    if (this.current === 'closed') {
      this.failures = 0;
    } else if (this.current === 'half-open') {
      this.endProbe();
      this.probeSuccesses++;
      if (this.probeSuccesses >= this.probes) this.moveTo('closed');
    }
  }

  onFailure(): void {
    if (this.current === 'closed') {
      this.failures++;
      if (this.options.consecutiveFailures > 0 && this.failures >= this.options.consecutiveFailures) this.open();
    } else if (this.current === 'half-open') {
      this.open();
    }
  }

  /** An admitted request ended without telling whether the target works (the client went away, say). */
  onCancel(): void {
    if (this.current === 'half-open') this.endProbe();
  }

  /** The state now (an open circuit whose time is up reads as half-open). */
  state(): BreakerState {
    if (this.current === 'open' && this.clock.now() - this.openedAt >= this.options.openMs) return 'half-open';
    return this.current;
  }

  /** Times the circuit opened since creation, for a counter in metrics. */
  openedTotal(): number {
    return this.opened;
  }

  private endProbe(): void {
    if (this.probesInFlight > 0) this.probesInFlight--;
  }

  private open(): void {
    this.openedAt = this.clock.now();
    this.opened++;
    this.moveTo('open');
  }

  private moveTo(state: BreakerState): void {
    this.current = state;
    this.failures = 0;
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    this.options.onStateChange?.(state);
  }
}
