// Core: every failure weft reports is a WeftError with a stable code; servers turn them into responses once, in rescue.ts.

export type WeftErrorCode =
  | 'NO_ENDPOINTS'
  | 'CONNECT_FAILED'
  | 'UPSTREAM_RESET'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_PROTOCOL_ERROR'
  | 'APP_UNAVAILABLE'
  | 'MISSING_HOST'
  | 'AMBIGUOUS_HOST'
  | 'DRAINING'
  | 'VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'CONFIG_INVALID'
  | 'STORE_CORRUPT'
  | 'STORE_CLOSED'
  | 'STORE_FULL'
  | 'STORE_READ_ONLY'
  | 'STORE_UNAVAILABLE'
  | 'CONTROL_UNAVAILABLE'
  | 'CIRCUIT_OPEN'
  | 'OVERFLOW'
  | 'FAULT_INJECTED'
  | 'DEADLINE_EXCEEDED'
  | 'PEER_IDENTITY_MISMATCH'
  | 'PEER_UNTRUSTED'
  | 'IDENTITY_INVALID'
  | 'IDENTITY_MISMATCH'
  | 'CSR_REJECTED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'BAD_REQUEST'
  | 'REQUEST_TIMEOUT'
  | 'HEADERS_TOO_LARGE'
  | 'NOT_IMPLEMENTED'
  | 'CANCELLED'
  | 'INTERNAL';

export interface WeftErrorOptions {
  retryable?: boolean;
  cause?: unknown;
  details?: Readonly<Record<string, unknown>>;
}

export class WeftError extends Error {
  readonly code: WeftErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: WeftErrorCode, message: string, options: WeftErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }

  toJSON(): { code: WeftErrorCode; message: string } & Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.details };
  }
}

/** No healthy instance of the requested service is known. */
export class NoEndpointsError extends WeftError {
  constructor(service: string) {
    super('NO_ENDPOINTS', `no healthy endpoints for service "${service}"`, { details: { service } });
  }
}

/** The connection to an endpoint could not be made: the request never reached it, so any method may be retried. */
export class ConnectFailedError extends WeftError {
  constructor(target: string, cause?: unknown) {
    super('CONNECT_FAILED', `could not connect to ${target}`, { retryable: true, cause, details: { target } });
  }
}

/** The connection broke after the request was (possibly) sent and before a full response arrived. */
export class UpstreamResetError extends WeftError {
  constructor(target: string, cause?: unknown) {
    super('UPSTREAM_RESET', `connection to ${target} was reset before a response`, { retryable: true, cause, details: { target } });
  }
}

export class UpstreamTimeoutError extends WeftError {
  constructor(target: string, timeoutMs: number) {
    super('UPSTREAM_TIMEOUT', `no response from ${target} within ${timeoutMs} ms`, { details: { target, timeoutMs } });
  }
}

/** The upstream answered with something that is not valid HTTP/1.1. */
export class UpstreamProtocolError extends WeftError {
  constructor(target: string, cause?: unknown) {
    super('UPSTREAM_PROTOCOL_ERROR', `invalid HTTP response from ${target}`, { cause, details: { target } });
  }
}

/** An application could not be reached: by its own sidecar, or as reported by a peer sidecar (the request reached no app). */
export class AppUnavailableError extends WeftError {
  constructor(target: string, cause?: unknown) {
    super('APP_UNAVAILABLE', `the application behind ${target} is not reachable`, { retryable: true, cause, details: { target } });
  }
}

/** A proxied request carried no Host header, so its service cannot be known. */
export class MissingHostError extends WeftError {
  constructor() {
    super('MISSING_HOST', 'the request has no Host header naming a service');
  }
}

/** More than one Host header: which service is meant is ambiguous, and RFC 9112 3.2 requires a 400. */
export class AmbiguousHostError extends WeftError {
  constructor() {
    super('AMBIGUOUS_HOST', 'the request has more than one Host header');
  }
}

/** A protocol or method weft does not carry yet (WebSocket and other upgrades, CONNECT, HTTP/2): refused plainly, never half-served. */
export class NotImplementedError extends WeftError {
  constructor(what: string) {
    super('NOT_IMPLEMENTED', `${what} is not supported by this proxy yet`, { details: { unsupported: what } });
  }
}

/** A request or document failed validation; `field` is the dotted path of the first offending field. */
export class ValidationError extends WeftError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('VALIDATION_FAILED', field ? `${field}: ${message}` : message, { details: { field } });
    this.field = field;
  }
}

export class NotFoundError extends WeftError {
  constructor(what: string) {
    super('NOT_FOUND', `${what} not found`);
  }
}

/** A configuration file or flag is invalid: names the source (file or flag), the path inside it and what was expected. */
export class ConfigError extends WeftError {
  constructor(source: string, path: string, expected: string) {
    super('CONFIG_INVALID', `${source}${path ? ` at ${path}` : ''}: ${expected}`, { details: { source, path } });
  }
}

/** A consecutive-failure breaker is open (or half-open with its probes taken): the call fails fast without reaching an endpoint. */
export class CircuitOpenError extends WeftError {
  constructor(target: string, retryInMs: number) {
    super('CIRCUIT_OPEN', `circuit to ${target} is open`, { details: { target, retryInMs } });
  }
}

/** A connection, pending-request or request limit is full: the call fails fast instead of queueing. */
export class OverflowError extends WeftError {
  constructor(target: string, limit: string, max: number) {
    super('OVERFLOW', `${target}: ${limit} limit of ${max} reached`, { details: { target, limit, max } });
  }
}

/** A route's fault injection chose to abort this request with `status`. */
export class FaultInjectedError extends WeftError {
  constructor(status: number) {
    super('FAULT_INJECTED', `fault injected: abort with ${status}`, { details: { status } });
  }
}

/** The caller's deadline has passed (or left no time): nested calls stop instead of doing work nobody waits for. */
export class DeadlineExceededError extends WeftError {
  constructor(deadlineMs?: number) {
    super('DEADLINE_EXCEEDED', 'the request deadline has passed', { details: deadlineMs === undefined ? {} : { deadlineMs } });
  }
}

/** A request lacked the credentials a route requires, or they failed verification; `reason` is for logs and never holds the credential. */
export class UnauthenticatedError extends WeftError {
  /** The RFC 6750 challenge to send back in `WWW-Authenticate`. */
  readonly wwwAuthenticate: string;
  constructor(reason: string, wwwAuthenticate: string) {
    super('UNAUTHENTICATED', `unauthenticated: ${reason}`, { details: { reason } });
    this.wwwAuthenticate = wwwAuthenticate;
  }
}

/** An authorization policy refused the caller: 403 before the request reaches the application. */
export class ForbiddenError extends WeftError {
  constructor(service: string) {
    super('FORBIDDEN', `the caller is not allowed to reach service "${service}"`, { details: { service } });
  }
}

/** A rate limit has no token left: 429, with the whole seconds until the next token in Retry-After. */
export class RateLimitedError extends WeftError {
  readonly retryAfterSeconds: number;
  constructor(service: string, retryAfterSeconds: number) {
    super('RATE_LIMITED', `rate limit of service "${service}" reached`, { retryable: true, details: { service, retryAfterSeconds } });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * The client went away before its response ended: the stages below let go of what they hold and report no failure
 * of the upstream. One instance serves every cancellation, so a client that hangs up often builds no stack traces.
 */
export class CancelledError extends WeftError {
  constructor() {
    super('CANCELLED', 'the client closed the request');
  }
}

export const CANCELLED = new CancelledError();

/** A conditional write found the key at another version than expected (a registry backend's, or a CA store's). */
export class VersionConflictError extends WeftError {
  constructor(key: string, expected: number, actual: number) {
    super('CONFLICT', `${key} is at version ${actual}, not ${expected}`, { details: { key, expected, actual } });
  }
}

export function isWeftError(value: unknown): value is WeftError {
  return value instanceof WeftError;
}
