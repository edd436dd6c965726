// Proxy: the one place where the sidecar turns a WeftError into an HTTP status and JSON body.
import type { ServerResponse } from 'node:http';
import { RateLimitedError, UnauthenticatedError, WeftError, isWeftError, type WeftErrorCode } from '../core/index.js';

const STATUS: Partial<Record<WeftErrorCode, number>> = {
  NO_ENDPOINTS: 503,
  CONNECT_FAILED: 503,
  APP_UNAVAILABLE: 503,
  DRAINING: 503,
  UPSTREAM_RESET: 502,
  UPSTREAM_PROTOCOL_ERROR: 502,
  // The endpoint's sidecar proved another identity, or none the trust bundle vouches for: a bad gateway, not a missing one.
  PEER_IDENTITY_MISMATCH: 502,
  PEER_UNTRUSTED: 502,
  UPSTREAM_TIMEOUT: 504,
  DEADLINE_EXCEEDED: 504,
  CIRCUIT_OPEN: 503,
  OVERFLOW: 503,
  MISSING_HOST: 400,
  AMBIGUOUS_HOST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  BAD_REQUEST: 400,
  REQUEST_TIMEOUT: 408,
  HEADERS_TOO_LARGE: 431,
  NOT_IMPLEMENTED: 501,
};

export function statusOf(error: WeftError): number {
  // An injected fault answers with the status its route asked for.
  if (error.code === 'FAULT_INJECTED') {
    const status = error.details['status'];
    if (typeof status === 'number' && Number.isInteger(status) && status >= 200 && status <= 599) return status;
  }
  return STATUS[error.code] ?? 500;
}

/** Any thrown value as a WeftError; foreign errors become INTERNAL and keep their cause. */
export function asWeftError(error: unknown): WeftError {
  return isWeftError(error) ? error : new WeftError('INTERNAL', 'internal error', { cause: error });
}

/**
 * Answers the client with the error and returns the status sent. When response headers are already
 * out, the only honest signal left is to break the connection; then the status returned is 0.
 */
export function rescue(res: ServerResponse, error: WeftError): number {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return 0;
  }
  const status = statusOf(error);
  // Codes the sidecar does not expect on its request path say nothing useful to a client: they are INTERNAL.
  const shown = status === 500 && error.code !== 'INTERNAL' && error.code !== 'FAULT_INJECTED' ? new WeftError('INTERNAL', 'internal error', { cause: error }) : error;
  const body = JSON.stringify(shown.toJSON());
  const headers = ['content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(body)), 'x-weft-error', shown.code];
  if (shown instanceof RateLimitedError) headers.push('retry-after', String(shown.retryAfterSeconds));
  else if (shown instanceof UnauthenticatedError) headers.push('www-authenticate', shown.wwwAuthenticate);
  res.writeHead(status, headers);
  res.end(body);
  return status;
}
