// Resilience: fault injection — a route's share of requests delayed or aborted on purpose, decided per request by the Rng.
import { FaultInjectedError, type Rng } from '../core/index.js';

export interface FaultOptions {
  readonly delay?: { readonly percent: number; readonly ms: number };
  readonly abort?: { readonly percent: number; readonly status: number };
}

/**
 * Built once per route. Delay and abort are drawn independently (as Envoy does): a request may be delayed and then
 * aborted. A percent of 0 draws nothing, so a route without faults leaves the Rng's sequence alone.
 */
export class FaultInjector {
  /** False when neither fault can ever fire: the request path can skip the injector entirely. */
  readonly active: boolean;
  private readonly delayPercent: number;
  private readonly delayMsValue: number;
  private readonly abortPercent: number;
  private readonly status: number;
  private delayed = 0;
  private aborted = 0;

  constructor(options: FaultOptions, private readonly rng: Rng) {
    this.delayPercent = percent(options.delay?.percent ?? 0, 'delay.percent');
    this.delayMsValue = options.delay?.ms ?? 0;
    this.abortPercent = percent(options.abort?.percent ?? 0, 'abort.percent');
    this.status = options.abort?.status ?? 503;
    if (!(this.delayMsValue >= 0)) throw new RangeError('delay.ms must be a number ≥ 0');
    if (!Number.isInteger(this.status) || this.status < 200 || this.status > 599) throw new RangeError('abort.status must be an HTTP status from 200 to 599');
    this.active = (this.delayPercent > 0 && this.delayMsValue > 0) || this.abortPercent > 0;
  }

  /** How long to hold this request before sending it on (0 = not delayed). */
  delayMs(): number {
    if (this.delayPercent <= 0 || this.delayMsValue <= 0) return 0;
    if (this.rng.next() * 100 >= this.delayPercent) return 0;
    this.delayed++;
    return this.delayMsValue;
  }

  /** The error to answer this request with instead of sending it (its details carry the status), or null. */
  abort(): FaultInjectedError | null {
    if (this.abortPercent <= 0) return null;
    if (this.rng.next() * 100 >= this.abortPercent) return null;
    this.aborted++;
    return new FaultInjectedError(this.status);
  }

  /** Requests delayed and aborted since creation, for counters in metrics. */
  counts(): { readonly delayed: number; readonly aborted: number } {
    return { delayed: this.delayed, aborted: this.aborted };
  }
}

function percent(value: number, name: string): number {
  if (!(value >= 0 && value <= 100)) throw new RangeError(`${name} must be from 0 to 100`);
  return value;
}
