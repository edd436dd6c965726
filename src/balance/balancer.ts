// Balance: the contract between a load-balancing algorithm and the request path.
// A Balancer owns state across updates; the request path only touches the immutable Picker it publishes.
import type { CallContext, Outcome, WeftError } from '../core/index.js';
import type { BalancerKind, Endpoint } from '../model/index.js';

export type Pick =
  | { readonly ok: true; readonly endpoint: Endpoint; done(outcome: Outcome): void }
  | { readonly ok: false; readonly error: WeftError };

export interface Picker {
  /** Chooses one endpoint, avoiding ctx.exclude when another choice exists. Must not allocate much: it runs per request. */
  pick(ctx: CallContext): Pick;
}

export interface Balancer {
  /** Receives the healthy endpoints of one service and publishes a new Picker for them. */
  update(endpoints: readonly Endpoint[]): Picker;
}

export type { BalancerKind };
