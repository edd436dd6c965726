import { describe, it, expect } from 'vitest';
import { OverflowError } from '../../src/core/index.js';
import { BreakerLimits } from '../../src/resilience/index.js';

describe('breaker limits', () => {
  it('fails fast with OVERFLOW once a limit is full, and admits again after a release', () => {
    const limits = new BreakerLimits({ maxConnections: 2, maxPendingRequests: 1, maxRequests: 3 }, 'greeter');
    expect(limits.acquire('connections')).toBeNull();
    expect(limits.acquire('connections')).toBeNull();
    const refused = limits.acquire('connections');
    expect(refused).toBeInstanceOf(OverflowError);
    expect(refused?.code).toBe('OVERFLOW');
    expect(refused?.details).toEqual({ target: 'greeter', limit: 'connections', max: 2 });
    expect(limits.inUse('connections')).toBe(2);
    limits.release('connections');
    expect(limits.acquire('connections')).toBeNull();
    expect(limits.overflows('connections')).toBe(1);

    expect(limits.acquire('pending')).toBeNull();
    expect(limits.acquire('pending')?.code).toBe('OVERFLOW');
    for (let i = 0; i < 3; i++) expect(limits.acquire('requests')).toBeNull();
    expect(limits.acquire('requests')?.code).toBe('OVERFLOW');
    expect(limits.overflows('requests')).toBe(1);
  });

  it('keeps the limits apart and treats an absent limit as unlimited', () => {
    const limits = new BreakerLimits({ maxPendingRequests: 0 }, 'svc');
    expect(limits.acquire('pending')?.code).toBe('OVERFLOW');
    for (let i = 0; i < 10_000; i++) expect(limits.acquire('requests')).toBeNull();
    expect(limits.limit('connections')).toBe(Infinity);
  });

  it('never counts below zero on a stray release', () => {
    const limits = new BreakerLimits({ maxRequests: 1 }, 'svc');
    limits.release('requests');
    expect(limits.inUse('requests')).toBe(0);
    expect(limits.acquire('requests')).toBeNull();
    expect(limits.acquire('requests')?.code).toBe('OVERFLOW');
  });

  it('rejects negative limits', () => {
    expect(() => new BreakerLimits({ maxConnections: -1 }, 'svc')).toThrow(RangeError);
  });
});
