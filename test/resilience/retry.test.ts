import { describe, it, expect } from 'vitest';
import { AppUnavailableError, ConnectFailedError, NoEndpointsError, UpstreamResetError, UpstreamTimeoutError, WeftError } from '../../src/core/index.js';
import { DEFAULT_RETRY_POLICY, isIdempotentMethod, retryReason, type BodyState } from '../../src/resilience/index.js';

const connect = new ConnectFailedError('127.0.0.1:1');
const reset = new UpstreamResetError('127.0.0.1:1');
const timeout = new UpstreamTimeoutError('127.0.0.1:1', 100);

describe('retry policy', () => {
  it('defaults to three attempts', () => {
    expect(DEFAULT_RETRY_POLICY.maxAttempts).toBe(3);
    expect(retryReason(DEFAULT_RETRY_POLICY, connect, 1, 'GET', 'none')).toBe('connect_failed');
    expect(retryReason(DEFAULT_RETRY_POLICY, connect, 2, 'GET', 'none')).toBe('connect_failed');
    expect(retryReason(DEFAULT_RETRY_POLICY, connect, 3, 'GET', 'none')).toBeNull();
    expect(retryReason({ maxAttempts: 1 }, connect, 1, 'GET', 'none')).toBeNull();
  });

  const table: [WeftError, string, BodyState, string | null][] = [
    // A connect failure never reached the endpoint: any method goes again while its body is intact.
    [connect, 'POST', 'untouched', 'connect_failed'],
    [connect, 'PATCH', 'none', 'connect_failed'],
    [connect, 'GET', 'none', 'connect_failed'],
    [connect, 'POST', 'replayable', 'connect_failed'],
    [connect, 'POST', 'spent', null],
    [new AppUnavailableError('127.0.0.1:1'), 'POST', 'replayable', 'app_unavailable'],
    [new AppUnavailableError('127.0.0.1:1'), 'PATCH', 'none', 'app_unavailable'],
    [new AppUnavailableError('127.0.0.1:1'), 'POST', 'spent', null],
    // A reset after sending goes again only for idempotent methods whose body can be resent whole.
    [reset, 'GET', 'none', 'reset'],
    [reset, 'HEAD', 'none', 'reset'],
    [reset, 'OPTIONS', 'none', 'reset'],
    [reset, 'TRACE', 'none', 'reset'],
    [reset, 'DELETE', 'none', 'reset'],
    [reset, 'PUT', 'replayable', 'reset'],
    [reset, 'PUT', 'untouched', 'reset'],
    [reset, 'PUT', 'spent', null],
    [reset, 'POST', 'none', null],
    [reset, 'POST', 'replayable', null],
    [reset, 'PATCH', 'replayable', null],
    // Timeouts and anything else are final.
    [timeout, 'GET', 'none', null],
    [new NoEndpointsError('greeter'), 'GET', 'none', null],
    [new WeftError('UPSTREAM_PROTOCOL_ERROR', 'bad response'), 'GET', 'none', null],
  ];

  it.each(table)('%s on %s with body %s -> %s', (error, method, body, expected) => {
    expect(retryReason(DEFAULT_RETRY_POLICY, error, 1, method, body)).toBe(expected);
  });

  it('knows the idempotent methods', () => {
    for (const m of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']) expect(isIdempotentMethod(m)).toBe(true);
    for (const m of ['POST', 'PATCH', 'CONNECT', 'get']) expect(isIdempotentMethod(m)).toBe(false);
  });
});
