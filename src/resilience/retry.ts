// Resilience: the retry vocabulary of the request path — body states, idempotent methods, the default attempt count; the decisions live in retry-conditions.ts.

/**
 * What became of the request body by the time an attempt failed:
 * - `none`: the request has no body;
 * - `untouched`: not a byte was read from the client, so it can still be sent anywhere;
 * - `replayable`: the body ended and every byte of it is held in the replay buffer;
 * - `spent`: bytes were sent that cannot be sent again (too large, or the body had not ended).
 */
export type BodyState = 'none' | 'untouched' | 'replayable' | 'spent';

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
