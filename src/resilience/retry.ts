// Resilience: the retry policy of the request path: which failed attempts may go again, to another endpoint.
import type { WeftError } from '../core/index.js';

/**
 * What became of the request body by the time an attempt failed:
 * - `none`: the request has no body;
 * - `untouched`: not a byte was read from the client, so it can still be sent anywhere;
 * - `replayable`: the body ended and every byte of it is held in the replay buffer;
 * - `spent`: bytes were sent that cannot be sent again (too large, or the body had not ended).
 */
export type BodyState = 'none' | 'untouched' | 'replayable' | 'spent';

/** Why a retry happened, as the `reason` label of weft_proxy_retries_total. */
export type RetryReason = 'connect_failed' | 'app_unavailable' | 'reset';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 3 };

/** Largest request body kept for replay after a reset. */
export const REPLAY_BUFFER_BYTES = 64 * 1024;

/** Methods that RFC 9110 calls idempotent: sending them twice has the effect of sending them once. */
export function isIdempotentMethod(method: string): boolean {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'PUT':
    case 'DELETE':
    case 'TRACE':
      return true;
    default:
      return false;
  }
}

/**
 * Decides whether an attempt that failed before any response header reached the client may be retried
 * on another endpoint (the caller excludes the endpoints already tried). Returns the reason, or null.
 * A connect failure (or a peer sidecar reporting its app down) never reached an application, so any
 * method goes again while its body is intact;
 * a reset after sending goes again only for idempotent methods whose body can be sent whole again.
 */
export function retryReason(policy: RetryPolicy, error: WeftError, attempt: number, method: string, body: BodyState): RetryReason | null {
  if (attempt >= policy.maxAttempts) return null;
  if (error.code === 'CONNECT_FAILED') return body === 'spent' ? null : 'connect_failed';
  // A peer sidecar whose application is down answered without passing the request on: it reached no application.
  if (error.code === 'APP_UNAVAILABLE') return body === 'spent' ? null : 'app_unavailable';
  if (error.code === 'UPSTREAM_RESET') return body !== 'spent' && isIdempotentMethod(method) ? 'reset' : null;
  return null;
}
