// HTTP: what the mesh knows of gRPC on top of HTTP/2 — telling a gRPC call, its grpc-timeout deadline, and errors answered as gRPC statuses.
import type { WeftError } from '../core/index.js';
import { ERROR_HEADER, headerValue } from './mesh-headers.js';
import type { RawHeaders } from './message.js';
import { errorReply, grpcStatusOf, statusOf } from './status.js';

export const GRPC_TIMEOUT_HEADER = 'grpc-timeout';
export const GRPC_STATUS_HEADER = 'grpc-status';
export const GRPC_MESSAGE_HEADER = 'grpc-message';

/**
 * A gRPC call's content type: `application/grpc`, alone or with a `+format` or parameters. gRPC-Web (`application/grpc-web`)
 * is not: its status travels in the body, and its clients read HTTP errors as HTTP.
 */
export function isGrpcContentType(value: string | undefined): boolean {
  if (value === undefined || value.length < 16) return false;
  if (value.slice(0, 16).toLowerCase() !== 'application/grpc') return false;
  if (value.length === 16) return true;
  const next = value.charCodeAt(16);
  return next === 0x2b /* + */ || next === 0x3b /* ; */;
}

/** Milliseconds per grpc-timeout unit (grpc PROTOCOL-HTTP2: Hours, Minutes, Seconds, milli, micro, nano). */
const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };

/** A grpc-timeout value in milliseconds ("1459m" → 1459); undefined when it is not one (at most 8 digits and a unit). */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text.length < 2 || text.length > 9) return undefined;
  const unit = UNIT_MS[text[text.length - 1]!];
  const digits = text.slice(0, -1);
  if (unit === undefined || !/^[0-9]+$/.test(digits)) return undefined;
  return Number(digits) * unit;
}

/** A deadline as grpc-timeout: whole milliseconds while they fit in 8 digits, then seconds, minutes, hours (rounded up). */
export function formatGrpcTimeout(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 100_000_000) return `${whole}m`;
  const seconds = Math.ceil(whole / 1_000);
  if (seconds < 100_000_000) return `${seconds}S`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 100_000_000) return `${minutes}M`;
  return `${Math.min(99_999_999, Math.ceil(minutes / 60))}H`;
}

/** grpc-message as the spec wants it: UTF-8, with bytes outside printable ASCII and "%" percent-encoded. */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A grpc-message as received; one that does not decode is kept as it came. */
export function decodeGrpcMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The grpc-status of a response's headers or trailers as a number; undefined when absent or not a status. */
export function grpcStatusIn(raw: readonly string[] | null): number | undefined {
  if (raw === null) return undefined;
  const value = headerValue(raw, GRPC_STATUS_HEADER);
  if (value === undefined || !/^[0-9]{1,2}$/.test(value)) return undefined;
  return Number(value);
}

/** The mesh's own codes for an attempt whose call may have reached the app before it broke (a reset, a timeout). */
const MAYBE_PROCESSED: ReadonlySet<string> = new Set(['UPSTREAM_RESET', 'UPSTREAM_TIMEOUT', 'DEADLINE_EXCEEDED', 'UPSTREAM_PROTOCOL_ERROR']);

/**
 * Whether a gRPC reply was made by a sidecar for a call that may have been processed: such an UNAVAILABLE is no
 * app's word that the call may go again, so the `unavailable` retry condition leaves it (as `reset` leaves a POST).
 */
export function meshReplyMayBeProcessed(headers: readonly string[]): boolean {
  const code = headerValue(headers, ERROR_HEADER);
  return code !== undefined && MAYBE_PROCESSED.has(code);
}

/**
 * A gRPC reply the mesh makes itself: Trailers-Only (HTTP 200, the status in the headers, no body), which every gRPC
 * client reads as the call's status; the code stays readable in x-weft-error and the HTTP status the error would have.
 */
export function grpcErrorReply(thrown: WeftError): { readonly status: 200; readonly headers: RawHeaders } {
  const error = errorReply(thrown).shown;
  return {
    status: 200,
    headers: [
      'content-type',
      'application/grpc',
      GRPC_STATUS_HEADER,
      String(grpcStatusOf(error)),
      GRPC_MESSAGE_HEADER,
      encodeGrpcMessage(`${error.code}: ${error.message}`),
      ERROR_HEADER,
      error.code,
      'x-weft-http-status',
      String(statusOf(error)),
    ],
  };
}

/**
 * The HTTP status a gRPC status stands for (as Envoy maps them), so that success and failure, 5xx for outlier
 * detection and breakers, read the same for gRPC calls as for HTTP requests.
 */
const HTTP_OF_GRPC: readonly number[] = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

export function httpStatusOfGrpc(code: number): number {
  return HTTP_OF_GRPC[code] ?? 500;
}

/**
 * What a response amounts to, as an HTTP status: the status itself, or for a gRPC call answered 200 the HTTP status
 * its grpc-status stands for (from the trailers, or the head of a Trailers-Only answer).
 */
export function outcomeStatus(status: number, headers: readonly string[] | null, trailers: readonly string[] | null): number {
  if (status !== 200) return status;
  const code = grpcStatusIn(trailers) ?? grpcStatusIn(headers);
  return code === undefined ? status : httpStatusOfGrpc(code);
}
