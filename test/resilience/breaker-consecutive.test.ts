import { describe, it, expect } from 'vitest';
import { CircuitOpenError, ManualClock } from '../../src/core/index.js';
import { BREAKER_STATE_VALUE, ConsecutiveBreaker, type BreakerState } from '../../src/resilience/index.js';

function setup(halfOpenProbes?: number) {
  const clock = new ManualClock();
  const changes: BreakerState[] = [];
  const breaker = new ConsecutiveBreaker(
    { consecutiveFailures: 3, openMs: 1_000, onStateChange: (s) => changes.push(s), ...(halfOpenProbes ? { halfOpenProbes } : {}) },
    clock,
    'greeter',
  );
  return { clock, breaker, changes };
}

describe('consecutive-failure breaker', () => {
  it('opens after N failures in a row, and a success in between resets the count', () => {
    const { breaker } = setup();
    breaker.onFailure();
    breaker.onFailure();
    breaker.onSuccess();
    breaker.onFailure();
    breaker.onFailure();
    expect(breaker.state()).toBe('closed');
    expect(breaker.admit()).toBeNull();
    breaker.onFailure();
    expect(breaker.state()).toBe('open');
    expect(breaker.openedTotal()).toBe(1);
  });

  it('walks closed → open → half-open → closed, failing fast while open', () => {
    const { clock, breaker, changes } = setup();
    for (let i = 0; i < 3; i++) breaker.onFailure();
    const refused = breaker.admit();
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect(refused?.code).toBe('CIRCUIT_OPEN');
    expect(refused?.details).toEqual({ target: 'greeter', retryInMs: 1_000 });
    clock.advance(999);
    expect(breaker.admit()?.code).toBe('CIRCUIT_OPEN');
    clock.advance(1);
    expect(breaker.state()).toBe('half-open');
    // One probe goes through; the next request still fails fast while the probe is out.
    expect(breaker.admit()).toBeNull();
    expect(breaker.admit()?.code).toBe('CIRCUIT_OPEN');
    breaker.onSuccess();
    expect(breaker.state()).toBe('closed');
    expect(breaker.admit()).toBeNull();
    expect(changes).toEqual(['open', 'half-open', 'closed']);
    expect(changes.map((s) => BREAKER_STATE_VALUE[s])).toEqual([1, 2, 0]);
  });

  it('opens again when a probe fails, for another full openMs', () => {
    const { clock, breaker, changes } = setup();
    for (let i = 0; i < 3; i++) breaker.onFailure();
    clock.advance(1_000);
    expect(breaker.admit()).toBeNull();
    breaker.onFailure();
    expect(breaker.state()).toBe('open');
    clock.advance(500);
    expect(breaker.admit()?.code).toBe('CIRCUIT_OPEN');
    clock.advance(500);
    expect(breaker.admit()).toBeNull();
    expect(changes).toEqual(['open', 'half-open', 'open', 'half-open']);
    expect(breaker.openedTotal()).toBe(2);
  });

  it('needs every probe to succeed when several are allowed', () => {
    const { clock, breaker } = setup(2);
    for (let i = 0; i < 3; i++) breaker.onFailure();
    clock.advance(1_000);
    expect(breaker.admit()).toBeNull();
    expect(breaker.admit()).toBeNull();
    expect(breaker.admit()?.code).toBe('CIRCUIT_OPEN');
    breaker.onSuccess();
    expect(breaker.state()).toBe('half-open');
    expect(breaker.admit()?.code).toBe('CIRCUIT_OPEN'); // one probe still out, one succeeded
    breaker.onSuccess();
    expect(breaker.state()).toBe('closed');
  });

  it('gives a probe slot back when the probe is cancelled', () => {
    const { clock, breaker } = setup();
    for (let i = 0; i < 3; i++) breaker.onFailure();
    clock.advance(1_000);
    expect(breaker.admit()).toBeNull();
    breaker.onCancel();
    expect(breaker.admit()).toBeNull();
  });

  it('ignores late outcomes while open', () => {
    const { clock, breaker } = setup();
    for (let i = 0; i < 3; i++) breaker.onFailure();
    breaker.onSuccess();
    breaker.onFailure();
    expect(breaker.state()).toBe('open');
    clock.advance(1_000);
    expect(breaker.state()).toBe('half-open');
  });

  it('never opens with consecutiveFailures 0 (the policy default: off)', () => {
    const breaker = new ConsecutiveBreaker({ consecutiveFailures: 0, openMs: 10_000 }, new ManualClock(), 't');
    for (let i = 0; i < 1_000; i++) breaker.onFailure();
    expect(breaker.state()).toBe('closed');
    expect(breaker.admit()).toBeNull();
  });

  it('rejects bad options', () => {
    const clock = new ManualClock();
    expect(() => new ConsecutiveBreaker({ consecutiveFailures: -1, openMs: 1 }, clock, 't')).toThrow(RangeError);
    expect(() => new ConsecutiveBreaker({ consecutiveFailures: 1.5, openMs: 1 }, clock, 't')).toThrow(RangeError);
    expect(() => new ConsecutiveBreaker({ consecutiveFailures: 1, openMs: -1 }, clock, 't')).toThrow(RangeError);
  });
});
