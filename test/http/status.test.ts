import { describe, it, expect } from 'vitest';
import {
  AppUnavailableError,
  CANCELLED,
  ConnectFailedError,
  FaultInjectedError,
  ForbiddenError,
  MissingHostError,
  NoEndpointsError,
  RateLimitedError,
  UpstreamProtocolError,
  UpstreamResetError,
  UnauthenticatedError,
  UpstreamTimeoutError,
  ValidationError,
  WeftError,
} from '../../src/core/index.js';
import { asWeftError, errorReply, GrpcStatus, grpcStatusOf, statusOf } from '../../src/http/index.js';

describe('error statuses', () => {
  it('maps every request-path code to its HTTP status', () => {
    expect(statusOf(new NoEndpointsError('s'))).toBe(503);
    expect(statusOf(new ConnectFailedError('t'))).toBe(503);
    expect(statusOf(new AppUnavailableError('t'))).toBe(503);
    expect(statusOf(new WeftError('DRAINING', 'draining'))).toBe(503);
    expect(statusOf(new UpstreamResetError('t'))).toBe(502);
    expect(statusOf(new UpstreamProtocolError('t'))).toBe(502);
    expect(statusOf(new UpstreamTimeoutError('t', 5))).toBe(504);
    expect(statusOf(new MissingHostError())).toBe(400);
    expect(statusOf(new UnauthenticatedError('missing', 'Bearer realm="api"'))).toBe(401);
    expect(statusOf(new ValidationError('f', 'bad'))).toBe(500);
    expect(statusOf(CANCELLED)).toBe(499);
    expect(asWeftError(new Error('boom')).code).toBe('INTERNAL');
  });

  it('keeps a gRPC status beside each HTTP one, as gRPC clients are to be answered', () => {
    expect(grpcStatusOf(new NoEndpointsError('s'))).toBe(GrpcStatus.UNAVAILABLE);
    expect(grpcStatusOf(new UpstreamTimeoutError('t', 5))).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect(grpcStatusOf(new ForbiddenError('s'))).toBe(GrpcStatus.PERMISSION_DENIED);
    expect(grpcStatusOf(new UnauthenticatedError('missing', 'Bearer'))).toBe(GrpcStatus.UNAUTHENTICATED);
    expect(grpcStatusOf(new RateLimitedError('s', 1))).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(grpcStatusOf(new ValidationError('f', 'bad'))).toBe(GrpcStatus.INTERNAL);
    expect(grpcStatusOf(new FaultInjectedError(503))).toBe(GrpcStatus.UNAVAILABLE);
    expect(grpcStatusOf(new FaultInjectedError(404))).toBe(GrpcStatus.UNIMPLEMENTED);
  });

  it('builds a JSON reply with the code, the details and x-weft-error; unexpected codes are shown as INTERNAL', () => {
    const first = errorReply(new NoEndpointsError('greeter'));
    expect(first.status).toBe(503);
    expect(JSON.parse(first.body)).toEqual({ code: 'NO_ENDPOINTS', message: 'no healthy endpoints for service "greeter"', service: 'greeter' });
    expect(first.headers).toEqual(['content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(first.body)), 'x-weft-error', 'NO_ENDPOINTS']);
    const second = errorReply(new ValidationError('port', 'bad'));
    expect(second.status).toBe(500);
    expect(JSON.parse(second.body)).toMatchObject({ code: 'INTERNAL' });
    expect(second.headers).toContain('INTERNAL');
    const third = errorReply(new UnauthenticatedError('expired', 'Bearer realm="api", error="invalid_token"'));
    expect(third.status).toBe(401);
    expect(third.headers.slice(-2)).toEqual(['www-authenticate', 'Bearer realm="api", error="invalid_token"']);
    const fourth = errorReply(new RateLimitedError('greeter', 3));
    expect(fourth.status).toBe(429);
    expect(fourth.headers.slice(-2)).toEqual(['retry-after', '3']);
  });
});
