import { describe, it, expect } from 'vitest';
import { AppUnavailableError, ConnectFailedError, UpstreamResetError, UpstreamTimeoutError, seededRng } from '../../src/core/index.js';
import { RetryConditions, retryBackoffMs, type AttemptResult, type BodyState } from '../../src/resilience/index.js';

const connect: AttemptResult = { error: new ConnectFailedError('127.0.0.1:1') };
const appDown: AttemptResult = { error: new AppUnavailableError('127.0.0.1:1') };
const reset: AttemptResult = { error: new UpstreamResetError('127.0.0.1:1') };
const timeout: AttemptResult = { error: new UpstreamTimeoutError('127.0.0.1:1', 10) };
const status = (s: number): AttemptResult => ({ status: s });

describe('retry conditions', () => {
  const all = new RetryConditions({ attempts: 3, on: ['connect-failure', 'reset', 'gateway-error', '500'] });

  const table: [AttemptResult, string, BodyState, string | null][] = [
    [connect, 'POST', 'untouched', 'connect_failure'],
    [appDown, 'PATCH', 'replayable', 'connect_failure'],
    [connect, 'GET', 'spent', null],
    [reset, 'GET', 'none', 'reset'],
    [reset, 'PUT', 'replayable', 'reset'],
    [reset, 'POST', 'replayable', null],
    [reset, 'GET', 'spent', null],
    [timeout, 'GET', 'none', null],
    [status(502), 'GET', 'none', 'gateway_error'],
    [status(503), 'DELETE', 'none', 'gateway_error'],
    [status(504), 'GET', 'none', 'gateway_error'],
    [status(503), 'POST', 'replayable', null],
    [status(500), 'GET', 'none', 'status_500'],
    [status(500), 'POST', 'none', null],
    [status(501), 'GET', 'none', null],
    [status(200), 'GET', 'none', null],
    [status(404), 'GET', 'none', null],
  ];
  it.each(table)('%o %s body=%s → %s', (result, method, body, expected) => {
    expect(all.decide(result, 1, method, body)).toBe(expected);
  });

  it('retries only the conditions listed', () => {
    const onlyConnect = new RetryConditions({ attempts: 3, on: ['connect-failure'] });
    expect(onlyConnect.decide(connect, 1, 'GET', 'none')).toBe('connect_failure');
    expect(onlyConnect.decide(reset, 1, 'GET', 'none')).toBeNull();
    expect(onlyConnect.decide(status(503), 1, 'GET', 'none')).toBeNull();
    const only503 = new RetryConditions({ attempts: 3, on: ['503'] });
    expect(only503.decide(status(503), 1, 'GET', 'none')).toBe('status_503');
    expect(only503.decide(status(502), 1, 'GET', 'none')).toBeNull();
    expect(only503.decide(connect, 1, 'GET', 'none')).toBeNull();
    expect(only503.retriesStatus(503)).toBe(true);
    expect(only503.retriesStatus(502)).toBe(false);
    expect(all.retriesStatus(504)).toBe(true);
  });

  it('lets a route retry non-idempotent methods when it says so', () => {
    const lenient = new RetryConditions({ attempts: 2, on: ['reset', 'gateway-error'], nonIdempotent: true });
    expect(lenient.decide(reset, 1, 'POST', 'replayable')).toBe('reset');
    expect(lenient.decide(status(503), 1, 'PATCH', 'none')).toBe('gateway_error');
    expect(lenient.decide(status(503), 1, 'POST', 'spent')).toBeNull();
  });

  it('stops after the last attempt', () => {
    expect(all.decide(connect, 2, 'GET', 'none')).toBe('connect_failure');
    expect(all.decide(connect, 3, 'GET', 'none')).toBeNull();
    expect(new RetryConditions({ attempts: 1, on: ['connect-failure'] }).decide(connect, 1, 'GET', 'none')).toBeNull();
  });

  it('rejects unknown conditions and bad attempt counts', () => {
    expect(() => new RetryConditions({ attempts: 3, on: ['5xx'] })).toThrow(/unknown retry condition "5xx"/);
    expect(() => new RetryConditions({ attempts: 3, on: ['700'] })).toThrow(RangeError);
    expect(() => new RetryConditions({ attempts: 0, on: [] })).toThrow(RangeError);
  });
});

describe('retry backoff', () => {
  it('is full jitter under an exponential ceiling capped at maxMs', () => {
    const rng = seededRng(7);
    const options = { baseMs: 25, maxMs: 250 };
    for (let retry = 1; retry <= 8; retry++) {
      const ceiling = Math.min(250, 25 * 2 ** (retry - 1));
      let max = 0;
      let min = Infinity;
      for (let i = 0; i < 500; i++) {
        const delay = retryBackoffMs(retry, options, rng);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(ceiling);
        max = Math.max(max, delay);
        min = Math.min(min, delay);
      }
      // Spread over the whole range: near zero and near the ceiling.
      expect(min).toBeLessThan(ceiling * 0.05);
      expect(max).toBeGreaterThan(ceiling * 0.95);
    }
    expect(retryBackoffMs(1, { baseMs: 0, maxMs: 0 }, rng)).toBe(0);
    expect(retryBackoffMs(1000, options, rng)).toBeLessThan(250);
  });
});
