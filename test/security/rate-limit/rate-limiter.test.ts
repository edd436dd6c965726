// Security/rate-limit: token buckets on a manual clock — bursts, refill, first matching rule, per-source buckets and their cap.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/index.js';
import { parsePolicy, type ServicePolicyInput } from '../../../src/model/index.js';
import { compileRateLimits, TokenBucket } from '../../../src/security/rate-limit/index.js';

function limiter(rateLimits: ServicePolicyInput['rateLimits'], clock: ManualClock, maxSources?: number) {
  return compileRateLimits(parsePolicy({ service: 'api', rateLimits }).rateLimits, clock, maxSources);
}

function refusals(admit: () => number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(admit());
  return out;
}

describe('token bucket', () => {
  it('lets a full burst through, then tells how long until the next token', () => {
    const bucket = new TokenBucket(2 / 1000, 3, 0);
    expect(refusals(() => bucket.take(0), 4)).toEqual([0, 0, 0, 500]);
    expect(bucket.take(250)).toBe(250);
    expect(bucket.take(500)).toBe(0);
    // Refill stops at the burst.
    expect(refusals(() => bucket.take(60_000), 4)).toEqual([0, 0, 0, 500]);
  });
});

describe('rate limiter', () => {
  it('refuses exactly the requests beyond burst plus refill', () => {
    const clock = new ManualClock(1_000);
    const limit = limiter([{ requestsPerSecond: 10, burst: 5 }], clock);
    const waits = refusals(() => limit.admit('/x', ''), 8);
    expect(waits.filter((w) => w === 0)).toHaveLength(5);
    expect(waits.slice(5)).toEqual([100, 100, 100]);
    clock.advance(250); // 2.5 tokens
    expect(refusals(() => limit.admit('/x', ''), 3).map((w) => w === 0)).toEqual([true, true, false]);
  });

  it('applies the first rule whose prefix fits, and none when no rule fits', () => {
    const clock = new ManualClock();
    const limit = limiter([{ match: { pathPrefix: '/api/slow' }, requestsPerSecond: 1 }, { match: { pathPrefix: '/api' }, requestsPerSecond: 100 }], clock);
    expect(limit.admit('/api/slow/1', '')).toBe(0);
    expect(limit.admit('/api/slow/2', '')).toBe(1000);
    expect(refusals(() => limit.admit('/api/fast', ''), 100).every((w) => w === 0)).toBe(true);
    expect(refusals(() => limit.admit('/other', ''), 500).every((w) => w === 0)).toBe(true);
  });

  it('keeps one bucket per source when asked, forgetting the least recently seen past the cap', () => {
    const clock = new ManualClock();
    const limit = limiter([{ perSource: true, requestsPerSecond: 1 }], clock, 2);
    expect(limit.admit('/', 'a')).toBe(0);
    expect(limit.admit('/', 'b')).toBe(0);
    expect(limit.admit('/', 'a')).toBe(1000);
    expect(limit.admit('/', 'c')).toBe(0); // evicts b, the least recently seen
    expect(limit.admit('/', 'a')).toBe(1000);
    expect(limit.admit('/', 'b')).toBe(0); // a fresh bucket: b was forgotten
  });

  it('defaults the burst to the rate rounded up, and limits nothing without rules', () => {
    const clock = new ManualClock();
    const limit = limiter([{ requestsPerSecond: 2.5 }], clock);
    expect(refusals(() => limit.admit('/', ''), 4).filter((w) => w > 0)).toHaveLength(1);
    expect(limiter(undefined, clock).admit('/', '')).toBe(0);
  });
});
