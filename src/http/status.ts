// HTTP: the one table from a WeftError to what a client is told — its HTTP status, the gRPC status beside it, and the reply's headers and body.
import { RateLimitedError, UnauthenticatedError, WeftError, isWeftError, type WeftErrorCode } from '../core/index.js';
import { CLIENT_CLOSED_STATUS } from '../model/index.js';
import { ERROR_HEADER } from './mesh-headers.js';
import type { RawHeaders } from './message.js';

/** gRPC status codes (grpc/doc/statuscodes.md) the mesh answers with. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatus = (typeof GrpcStatus)[keyof typeof GrpcStatus];

interface Mapping {
  readonly http: number;
  readonly grpc: GrpcStatus;
}

const STATUS: Partial<Record<WeftErrorCode, Mapping>> = {
  NO_ENDPOINTS: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  CONNECT_FAILED: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  APP_UNAVAILABLE: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  DRAINING: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  UPSTREAM_RESET: { http: 502, grpc: GrpcStatus.UNAVAILABLE },
  UPSTREAM_PROTOCOL_ERROR: { http: 502, grpc: GrpcStatus.INTERNAL },
  // The endpoint's sidecar proved another identity, or none the trust bundle vouches for: a bad gateway, not a missing one.
  PEER_IDENTITY_MISMATCH: { http: 502, grpc: GrpcStatus.UNAVAILABLE },
  PEER_UNTRUSTED: { http: 502, grpc: GrpcStatus.UNAVAILABLE },
  UPSTREAM_TIMEOUT: { http: 504, grpc: GrpcStatus.DEADLINE_EXCEEDED },
  DEADLINE_EXCEEDED: { http: 504, grpc: GrpcStatus.DEADLINE_EXCEEDED },
  CIRCUIT_OPEN: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  OVERFLOW: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  MISSING_HOST: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  AMBIGUOUS_HOST: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  UNAUTHENTICATED: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED },
  FORBIDDEN: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  RATE_LIMITED: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  BAD_REQUEST: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  REQUEST_TIMEOUT: { http: 408, grpc: GrpcStatus.DEADLINE_EXCEEDED },
  HEADERS_TOO_LARGE: { http: 431, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  NOT_IMPLEMENTED: { http: 501, grpc: GrpcStatus.UNIMPLEMENTED },
  CANCELLED: { http: CLIENT_CLOSED_STATUS, grpc: GrpcStatus.CANCELLED },
};

const INTERNAL_MAPPING: Mapping = { http: 500, grpc: GrpcStatus.INTERNAL };

/** An HTTP status as gRPC reads it (the gRPC spec's HTTP-to-gRPC table): a fault that aborts with a chosen status, an answer without grpc-status. */
export function grpcOfHttp(status: number): GrpcStatus {
  switch (status) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** An injected fault's own status, when it names a valid one. */
function faultStatus(error: WeftError): number | undefined {
  if (error.code !== 'FAULT_INJECTED') return undefined;
  const status = error.details['status'];
  return typeof status === 'number' && Number.isInteger(status) && status >= 200 && status <= 599 ? status : undefined;
}

/** The HTTP status a client is answered with for this error. */
export function statusOf(error: WeftError): number {
  return faultStatus(error) ?? (STATUS[error.code] ?? INTERNAL_MAPPING).http;
}

/** The gRPC status a gRPC client is answered with for this error. */
export function grpcStatusOf(error: WeftError): GrpcStatus {
  const fault = faultStatus(error);
  if (fault !== undefined) return grpcOfHttp(fault);
  return (STATUS[error.code] ?? INTERNAL_MAPPING).grpc;
}

/** Any thrown value as a WeftError; foreign errors become INTERNAL and keep their cause. */
export function asWeftError(error: unknown): WeftError {
  return isWeftError(error) ? error : new WeftError('INTERNAL', 'internal error', { cause: error });
}

/** A whole reply the mesh makes itself: the status, headers and JSON body a server adapter writes. */
export interface ErrorReply {
  readonly status: number;
  readonly headers: RawHeaders;
  readonly body: string;
  /** The error as shown (codes the request path does not expect are shown as INTERNAL). */
  readonly shown: WeftError;
}

/** What a client is answered for an error: `{code, message, …details}` as JSON, the code in x-weft-error too. */
export function errorReply(error: WeftError): ErrorReply {
  const status = statusOf(error);
  // Codes the sidecar does not expect on its request path say nothing useful to a client: they are INTERNAL.
  const shown = status === 500 && error.code !== 'INTERNAL' && error.code !== 'FAULT_INJECTED' ? new WeftError('INTERNAL', 'internal error', { cause: error }) : error;
  const body = JSON.stringify(shown.toJSON());
  const headers = ['content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(body)), ERROR_HEADER, shown.code];
  if (shown instanceof RateLimitedError) headers.push('retry-after', String(shown.retryAfterSeconds));
  else if (shown instanceof UnauthenticatedError) headers.push('www-authenticate', shown.wwwAuthenticate);
  return { status, headers, body, shown };
}
