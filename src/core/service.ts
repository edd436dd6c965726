// Core: the Service/Layer shapes every stage of the request path is written in.
import type { WeftError } from './errors.js';

export interface CallContext {
  readonly signal: AbortSignal;
  /** Absolute deadline in clock milliseconds, when one applies. */
  readonly deadline?: number;
  /** 1 for the first attempt, 2 for the first retry, ... */
  readonly attempt: number;
  /** Endpoint ids a balancer should avoid (already tried by this request). */
  readonly exclude?: ReadonlySet<string>;
  /** The request's affinity key (a header, cookie or source address) for hashing balancers such as ring-hash. */
  readonly hashKey?: string;
}

export type Service<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;
export type Layer<S> = (inner: S) => S;

/** Composes layers outermost first: stack([a, b], svc) === a(b(svc)). */
export function stack<S>(layers: readonly Layer<S>[], inner: S): S {
  let service = inner;
  for (let i = layers.length - 1; i >= 0; i--) service = layers[i]!(service);
  return service;
}

/** How one attempt against an endpoint ended, reported back to the balancer. */
export type Outcome =
  | { readonly kind: 'success'; readonly latencyMs: number; readonly status: number }
  | { readonly kind: 'failure'; readonly latencyMs: number; readonly error: WeftError };
