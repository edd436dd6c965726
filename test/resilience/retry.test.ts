import { describe, it, expect } from 'vitest';
import { AppUnavailableError, ConnectFailedError, NoEndpointsError, UpstreamResetError, UpstreamTimeoutError, WeftError } from '../../src/core/index.js';
import { DEFAULT_RETRY_POLICY, isIdempotentMethod, RetryConditions, type BodyState } from '../../src/resilience/index.js';

/** What a service without a policy retries (POLICY_DEFAULTS): connect failures and resets, 3 attempts in all. */
const defaults = new RetryConditions({ attempts: DEFAULT_RETRY_POLICY.maxAttempts, on: ['connect-failure', 'reset'] });
const decide = (error: WeftError, attempt: number, method: string, body: BodyState, conditions = defaults) =>
  conditions.decide({ error }, attempt, method, body);

const connect = new ConnectFailedError('127.0.0.1:1');
const reset = new UpstreamResetError('127.0.0.1:1');
const timeout = new UpstreamTimeoutError('127.0.0.1:1', 100);

describe('retry policy', () => {
  it('defaults to three attempts', () => {
    expect(DEFAULT_RETRY_POLICY.maxAttempts).toBe(3);
    expect(decide(connect, 1, 'GET', 'none')).toBe('connect_failure');
    expect(decide(connect, 2, 'GET', 'none')).toBe('connect_failure');
    expect(decide(connect, 3, 'GET', 'none')).toBeNull();
    expect(decide(connect, 1, 'GET', 'none', new RetryConditions({ attempts: 1, on: ['connect-failure'] }))).toBeNull();
  });

  const table: [WeftError, string, BodyState, string | null][] = [
    // A connect failure never reached the endpoint: any method goes again while its body is intact.
    [connect, 'POST', 'untouched', 'connect_failure'],
    [connect, 'PATCH', 'none', 'connect_failure'],
    [connect, 'GET', 'none', 'connect_failure'],
    [connect, 'POST', 'replayable', 'connect_failure'],
    [connect, 'POST', 'spent', null],
    [new AppUnavailableError('127.0.0.1:1'), 'POST', 'replayable', 'connect_failure'],
    [new AppUnavailableError('127.0.0.1:1'), 'PATCH', 'none', 'connect_failure'],
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
    expect(decide(error, 1, method, body)).toBe(expected);
  });

  it('knows the idempotent methods', () => {
    for (const m of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']) expect(isIdempotentMethod(m)).toBe(true);
    for (const m of ['POST', 'PATCH', 'CONNECT', 'get']) expect(isIdempotentMethod(m)).toBe(false);
  });
});
