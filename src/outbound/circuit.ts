// Outbound: circuit breaking of a whole request — a pending-request slot and the consecutive-failure breaker, taken once before the first attempt.
import type { WeftError } from '../core/index.js';
import type { PolicyMetrics } from '../telemetry/index.js';
import type { UpstreamPolicy } from './service-policy.js';

/** What a request holds of its service's circuit, as bits: given back once, when the request ends. */
export const HOLDS_PENDING = 1;
export const HOLDS_BREAKER = 2;

/** How a request ended, for the breaker: a cancelled request says nothing about the service. */
export type CircuitVerdict = 'success' | 'failure' | 'cancel';

/** Takes a pending slot, then the breaker's admission; returns the holds taken, or the refusal (with nothing held). */
export function enterCircuit(policy: UpstreamPolicy, metrics: PolicyMetrics): number | WeftError {
  const overflow = policy.limits.acquire('pending');
  if (overflow !== null) {
    metrics.circuitRejected(overflow.code);
    return overflow;
  }
  if (policy.breaker === null) return HOLDS_PENDING;
  const open = policy.breaker.admit();
  if (open !== null) {
    policy.limits.release('pending');
    metrics.circuitRejected(open.code);
    return open;
  }
  return HOLDS_PENDING | HOLDS_BREAKER;
}

/** Gives back what `enterCircuit` took and tells the breaker how the request went. */
export function leaveCircuit(policy: UpstreamPolicy, holds: number, verdict: CircuitVerdict): void {
  if (holds & HOLDS_PENDING) policy.limits.release('pending');
  if (holds & HOLDS_BREAKER) {
    const breaker = policy.breaker!;
    if (verdict === 'cancel') breaker.onCancel();
    else if (verdict === 'failure') breaker.onFailure();
    else breaker.onSuccess();
  }
}
