// Resilience: passive outlier ejection — endpoints that fail in a row leave the pool for a time that grows each time.
import type { Clock, Outcome, WeftErrorCode } from '../core/index.js';

export interface OutlierDetectorOptions {
  /** 5xx answers (and failures to get one) in a row that eject an endpoint; absent or 0 = off. */
  readonly consecutive5xx?: number;
  /** Gateway errors (502/503/504, connect failures, resets, timeouts) in a row that eject; absent or 0 = off. */
  readonly consecutiveGatewayErrors?: number;
  /** First ejection lasts this long; the n-th lasts n times as long. */
  readonly baseEjectionMs: number;
  /** Share of known endpoints that may be ejected at once, 0–100; at least one endpoint always stays. */
  readonly maxEjectionPercent: number;
  /** Ceiling of one ejection; 300 s unless set (Envoy's default). */
  readonly maxEjectionMs?: number;
  readonly onChange?: (id: string, ejected: boolean) => void;
}

export type OutlierVerdict = 'ejected' | 'capped' | 'none';

interface EndpointState {
  fivexx: number;
  gateway: number;
  /** Ejections so far, decayed by one per baseEjectionMs spent back in the pool. */
  times: number;
  /** While ejected: when it returns; after: when it returned. */
  until: number;
  ejected: boolean;
}

/** Failures that came from the endpoint (or the path to it); errors raised before sending (breaker, deadline) do not count. */
const ENDPOINT_FAILURES: ReadonlySet<WeftErrorCode> = new Set<WeftErrorCode>([
  'CONNECT_FAILED',
  'UPSTREAM_RESET',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_PROTOCOL_ERROR',
  'APP_UNAVAILABLE',
  'PEER_IDENTITY_MISMATCH',
  'PEER_UNTRUSTED',
]);

/**
 * Envoy-style consecutive-error detection, one per service. record() per attempt is O(1); ejected endpoints return by
 * themselves once their time is up (checked lazily, no timers). A failure to reach an endpoint counts as a 5xx and as a
 * gateway error, as Envoy does when it does not split local-origin errors. The cap counts known endpoints (update() or
 * recorded ids): with 3 endpoints and 50 %, one may be out at a time; an endpoint over the threshold while the cap is
 * full stays in and is ejected at its next failure if room has been made.
 */
export class OutlierDetector {
  private readonly states = new Map<string, EndpointState>();
  private readonly ejectedIds = new Set<string>();
  private readonly maxEjectionMs: number;
  private nextReturnAt = Infinity;
  private version = 0;
  private ejections = 0;
  private capped = 0;
  private cachedInput: readonly { readonly id: string }[] | undefined;
  private cachedOutput: readonly { readonly id: string }[] = [];
  private cachedVersion = -1;

  constructor(private readonly options: OutlierDetectorOptions, private readonly clock: Clock) {
    if (!(options.baseEjectionMs >= 0)) throw new RangeError('baseEjectionMs must be a number ≥ 0');
    if (!(options.maxEjectionPercent >= 0 && options.maxEjectionPercent <= 100)) throw new RangeError('maxEjectionPercent must be from 0 to 100');
    this.maxEjectionMs = options.maxEjectionMs ?? 300_000;
  }

  /** The endpoints of the service now: new ones start clean, gone ones are forgotten (ejected or not). */
  update(endpoints: readonly { readonly id: string }[]): void {
    const keep = new Set<string>();
    for (const endpoint of endpoints) {
      keep.add(endpoint.id);
      if (!this.states.has(endpoint.id)) this.states.set(endpoint.id, freshState());
    }
    for (const id of [...this.states.keys()]) {
      if (keep.has(id)) continue;
      this.states.delete(id);
      if (this.ejectedIds.delete(id)) this.version++;
    }
  }

  /** Counts one attempt's outcome against the endpoint; says whether it was ejected (or would have been, but for the cap). */
  record(id: string, outcome: Outcome): OutlierVerdict {
    const now = this.clock.now();
    if (now >= this.nextReturnAt) this.sweep(now);
    let state = this.states.get(id);
    if (state === undefined) {
      state = freshState();
      this.states.set(id, state);
    }
    if (state.ejected) return 'none';
    if (outcome.kind === 'success') {
      const status = outcome.status;
      if (status >= 500) {
        state.fivexx++;
        if (status === 502 || status === 503 || status === 504) state.gateway++;
        else state.gateway = 0;
      } else {
        state.fivexx = 0;
        state.gateway = 0;
      }
    } else {
      if (!ENDPOINT_FAILURES.has(outcome.error.code)) return 'none';
      state.fivexx++;
      state.gateway++;
    }
    if (!this.overThreshold(state)) return 'none';
    return this.eject(id, state, now) ? 'ejected' : 'capped';
  }

  isEjected(id: string, now: number = this.clock.now()): boolean {
    if (now >= this.nextReturnAt) this.sweep(now);
    return this.states.get(id)?.ejected === true;
  }

  /** The endpoints not ejected now. Returns the input itself when none is ejected, and a cached array while nothing changed. */
  eligible<T extends { readonly id: string }>(endpoints: readonly T[], now: number = this.clock.now()): readonly T[] {
    if (now >= this.nextReturnAt) this.sweep(now);
    if (this.ejectedIds.size === 0) return endpoints;
    if (this.cachedInput === endpoints && this.cachedVersion === this.version) return this.cachedOutput as readonly T[];
    const out = endpoints.filter((endpoint) => !this.ejectedIds.has(endpoint.id));
    this.cachedInput = endpoints;
    this.cachedOutput = out;
    this.cachedVersion = this.version;
    return out;
  }

  ejectedCount(now: number = this.clock.now()): number {
    if (now >= this.nextReturnAt) this.sweep(now);
    return this.ejectedIds.size;
  }

  /** Ejections since creation (a counter for metrics). */
  ejectionsTotal(): number {
    return this.ejections;
  }

  /** Ejections the cap prevented since creation. */
  cappedTotal(): number {
    return this.capped;
  }

  private overThreshold(state: EndpointState): boolean {
    const { consecutive5xx, consecutiveGatewayErrors } = this.options;
    return (
      (consecutive5xx !== undefined && consecutive5xx > 0 && state.fivexx >= consecutive5xx) ||
      (consecutiveGatewayErrors !== undefined && consecutiveGatewayErrors > 0 && state.gateway >= consecutiveGatewayErrors)
    );
  }

  private eject(id: string, state: EndpointState, now: number): boolean {
    const known = this.states.size;
    const allowed = Math.min(Math.floor((known * this.options.maxEjectionPercent) / 100), known - 1);
    if (this.ejectedIds.size >= allowed) {
      this.capped++;
      return false;
    }
    const base = this.options.baseEjectionMs;
    // A clean spell back in the pool earns the multiplier down again, one step per base period.
    if (state.times > 0 && base > 0) state.times = Math.max(0, state.times - Math.floor((now - state.until) / base));
    state.times++;
    state.until = now + Math.min(base * state.times, this.maxEjectionMs);
    state.ejected = true;
    state.fivexx = 0;
    state.gateway = 0;
    this.ejectedIds.add(id);
    this.nextReturnAt = Math.min(this.nextReturnAt, state.until);
    this.ejections++;
    this.version++;
    this.options.onChange?.(id, true);
    return true;
  }

  /** Returns every endpoint whose time is up; rare (at most once per return), so a loop over the ejected is fine. */
  private sweep(now: number): void {
    let next = Infinity;
    for (const id of [...this.ejectedIds]) {
      const state = this.states.get(id);
      if (state === undefined) {
        this.ejectedIds.delete(id);
        continue;
      }
      if (state.until > now) {
        next = Math.min(next, state.until);
        continue;
      }
      state.ejected = false;
      this.ejectedIds.delete(id);
      this.version++;
      this.options.onChange?.(id, false);
    }
    this.nextReturnAt = next;
  }
}

function freshState(): EndpointState {
  return { fivexx: 0, gateway: 0, times: 0, until: 0, ejected: false };
}
