// Core: what a balancer may know of the attempt it picks for, and how the attempt ended.
import type { WeftError } from './errors.js';

export interface CallContext {
  /** 1 for the first attempt, 2 for the first retry, ... */
  readonly attempt: number;
  /** Endpoint ids a balancer should avoid (already tried by this request). */
  readonly exclude?: ReadonlySet<string> | undefined;
  /** The request's affinity key (a header, cookie or source address) for hashing balancers such as ring-hash. */
  readonly hashKey?: string | undefined;
}

/** How one attempt against an endpoint ended, reported back to the balancer. */
export type Outcome =
  | { readonly kind: 'success'; readonly latencyMs: number; readonly status: number }
  | { readonly kind: 'failure'; readonly latencyMs: number; readonly error: WeftError };
