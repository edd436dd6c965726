// Resilience: which failed attempts a route's retry policy sends again — by condition, method idempotency and body state.
import type { WeftError } from '../core/index.js';
import { GRPC_RETRY_CONDITIONS } from '../model/retry-condition-names.js';
import { isIdempotentMethod, type BodyState } from './retry.js';

export interface RetryConditionsOptions {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** The policy's `retry.on`: connect-failure, reset, gateway-error, or status codes written as strings ("503"). */
  readonly on: readonly string[];
  /** When true, methods that are not idempotent (POST, PATCH) may be retried after they reached an app. */
  readonly nonIdempotent?: boolean;
}

/** The `reason` label of a retry (bounded: one per condition, one per listed status). */
export type RetryConditionReason = 'connect_failure' | 'reset' | 'gateway_error' | `status_${number}` | `grpc_${string}`;

/** How an attempt ended: an error before any response, or a response status. */
export type AttemptResult = { readonly error: WeftError; readonly status?: undefined } | { readonly status: number; readonly error?: undefined };

const GATEWAY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/**
 * Compiled once per route from its policy, consulted per failed attempt with no allocation.
 * - connect-failure (CONNECT_FAILED, a peer sidecar's APP_UNAVAILABLE, or a peer refused at the mTLS handshake:
 *   PEER_IDENTITY_MISMATCH, PEER_UNTRUSTED): the request reached no application, so any
 *   method goes again while its body is intact;
 * - reset (UPSTREAM_RESET) and statuses (gateway-error = 502/503/504, or listed codes): the request may have reached the
 *   application, so only idempotent methods go again (unless nonIdempotent), and only with a body that can be sent whole.
 */
export class RetryConditions {
  readonly attempts: number;
  private readonly connectFailure: boolean;
  private readonly reset: boolean;
  private readonly gatewayError: boolean;
  private readonly nonIdempotent: boolean;
  private readonly statusReasons = new Map<number, RetryConditionReason>();
  /** gRPC status code → reason, for the gRPC conditions listed. */
  private readonly grpcReasons = new Map<number, RetryConditionReason>();

  constructor(options: RetryConditionsOptions) {
    if (!Number.isInteger(options.attempts) || options.attempts < 1) throw new RangeError('retry attempts must be an integer ≥ 1');
    this.attempts = options.attempts;
    this.nonIdempotent = options.nonIdempotent === true;
    let connectFailure = false;
    let reset = false;
    let gatewayError = false;
    for (const entry of options.on) {
      if (entry === 'connect-failure') connectFailure = true;
      else if (entry === 'reset') reset = true;
      else if (entry === 'gateway-error') gatewayError = true;
      else {
        const grpc = GRPC_RETRY_CONDITIONS[entry];
        if (grpc !== undefined) {
          this.grpcReasons.set(grpc, `grpc_${entry.replace('-', '_')}`);
          continue;
        }
        const status = Number(entry);
        if (Number.isInteger(status) && status >= 100 && status <= 599) {
          this.statusReasons.set(status, `status_${status}`);
        } else throw new RangeError(`unknown retry condition "${entry}"`);
      }
    }
    this.connectFailure = connectFailure;
    this.reset = reset;
    this.gatewayError = gatewayError;
  }

  /**
   * The reason to retry after `attempt` (1 = the first attempt) ended with `result`, or null to stop.
   * The caller still asks the retry budget, and excludes the endpoints already tried.
   */
  decide(result: AttemptResult, attempt: number, method: string, body: BodyState): RetryConditionReason | null {
    if (attempt >= this.attempts || body === 'spent') return null;
    if (result.error !== undefined) {
      const code = result.error.code;
      // A peer refused at the mTLS handshake got nothing of the request either: another endpoint may prove the right identity.
      if (code === 'CONNECT_FAILED' || code === 'APP_UNAVAILABLE' || code === 'PEER_IDENTITY_MISMATCH' || code === 'PEER_UNTRUSTED') return this.connectFailure ? 'connect_failure' : null;
      if (code === 'UPSTREAM_RESET') return this.reset && this.mayResend(method) ? 'reset' : null;
      return null;
    }
    const status = result.status;
    const listed = this.statusReasons.get(status);
    if (listed !== undefined) return this.mayResend(method) ? listed : null;
    if (this.gatewayError && GATEWAY_STATUSES.has(status)) return this.mayResend(method) ? 'gateway_error' : null;
    return null;
  }

  /**
   * The reason to retry a gRPC call answered with `code` in a Trailers-Only reply, or null. Every gRPC call is a POST:
   * listing a gRPC status is the policy's word that calls answered so may go again.
   */
  decideGrpc(code: number, attempt: number, body: BodyState): RetryConditionReason | null {
    if (attempt >= this.attempts || body === 'spent') return null;
    return this.grpcReasons.get(code) ?? null;
  }

  retriesGrpc(code: number): boolean {
    return this.grpcReasons.has(code);
  }

  /** True when a response with this status would be retried for some method: the proxy then buffers instead of streaming. */
  retriesStatus(status: number): boolean {
    return this.statusReasons.has(status) || (this.gatewayError && GATEWAY_STATUSES.has(status));
  }

  private mayResend(method: string): boolean {
    return this.nonIdempotent || isIdempotentMethod(method);
  }
}
