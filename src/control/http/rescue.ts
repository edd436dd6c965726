// Control HTTP: the one place where errors become HTTP statuses and ErrorReply bodies; nothing else picks a status for a failure.
import type { Logger } from 'pino';
import { isWeftError, ValidationError, type WeftErrorCode } from '../../core/index.js';
import type { ErrorReply } from '../../model/index.js';

const STATUS: Partial<Record<WeftErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  CONFIG_INVALID: 400,
  CSR_REJECTED: 400,
  IDENTITY_INVALID: 400,
  IDENTITY_MISMATCH: 403,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  STORE_CLOSED: 503,
  STORE_FULL: 507,
  STORE_READ_ONLY: 503,
  STORE_UNAVAILABLE: 503,
  CONTROL_UNAVAILABLE: 503,
  DRAINING: 503,
};

export interface RescuedReply {
  readonly status: number;
  readonly body: ErrorReply;
  /** The connection may hold unread request bytes: close it after replying. */
  readonly closeConnection: boolean;
}

export function rescue(error: unknown, logger: Logger): RescuedReply {
  if (!isWeftError(error)) {
    // Unknown failures are bugs: log everything, tell the client nothing internal.
    logger.error({ err: error }, 'unexpected error while handling a request');
    return { status: 500, body: { code: 'INTERNAL', message: 'internal error' }, closeConnection: false };
  }
  const status = STATUS[error.code] ?? 500;
  if (status >= 500) logger.error({ err: error, code: error.code }, 'request failed');
  const body: ErrorReply =
    error instanceof ValidationError && error.field !== '' ? { code: error.code, message: error.message, field: error.field } : { code: error.code, message: error.message };
  return { status, body, closeConnection: error.code === 'PAYLOAD_TOO_LARGE' };
}
