import { describe, it, expect } from 'vitest';
import { ManualClock } from '../../src/core/index.js';
import { RetryBudget } from '../../src/resilience/index.js';

describe('retry budget', () => {
  it('caps retries at ratio × requests + minPerSecond × seconds when every request fails', () => {
    const clock = new ManualClock(1_000);
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 10 }, clock);
    let requests = 0;
    let retries = 0;
    // 200 requests/s for 30 s, each failing and wanting up to two retries.
    for (let ms = 0; ms < 30_000; ms += 5) {
      budget.recordRequest();
      requests++;
      for (let r = 0; r < 2; r++) if (budget.tryRetry()) retries++;
      clock.advance(5);
    }
    expect(requests).toBe(6_000);
    // The bound over the whole run: 20 % of requests plus 10/s over the run (and one bucket of slack).
    expect(retries).toBeLessThanOrEqual(0.2 * requests + 10 * 31);
    // And the budget is actually spent, not starved.
    expect(retries).toBeGreaterThanOrEqual(0.2 * requests);
    expect(budget.refusedTotal()).toBe(2 * requests - retries);
  });

  it('holds the bound over any stretch shorter than the window, from the start', () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 10 }, clock);
    let requests = 0;
    let retries = 0;
    for (let ms = 0; ms < 3_000; ms += 5) {
      budget.recordRequest();
      requests++;
      if (budget.tryRetry()) retries++;
      clock.advance(5);
    }
    // 3 s: 600 requests → 120 from the ratio, 30 (+10 for the current bucket) from the reserve.
    expect(retries).toBeLessThanOrEqual(0.2 * requests + 10 * 4);
    expect(retries).toBeGreaterThanOrEqual(0.2 * requests);
  });

  it('lets a quiet service retry from its reserve, and refills it as the window slides', () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 1, ttlMs: 10_000 }, clock);
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    clock.advance(1_000);
    expect(budget.tryRetry()).toBe(true);
    expect(budget.canRetry()).toBe(false);
    // Ten seconds on, the full reserve is 10 and the early retries have left the window.
    clock.advance(9_000);
    let allowed = 0;
    for (let i = 0; i < 20; i++) if (budget.tryRetry()) allowed++;
    expect(allowed).toBe(9); // the retry at t=1s is still inside the 10 s window
    clock.advance(60_000);
    expect(budget.stats()).toEqual({ requests: 0, retries: 0, available: 10 });
  });

  it('with no reserve, allows exactly ratio × requests', () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0 }, clock);
    expect(budget.canRetry()).toBe(false);
    for (let i = 0; i < 10; i++) budget.recordRequest();
    let allowed = 0;
    for (let i = 0; i < 10; i++) if (budget.tryRetry()) allowed++;
    expect(allowed).toBe(5);
    expect(budget.stats()).toEqual({ requests: 10, retries: 5, available: 0 });
  });

  it('forgets requests that slid out of the window', () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, ttlMs: 1_000 }, clock);
    for (let i = 0; i < 4; i++) budget.recordRequest();
    clock.advance(500);
    for (let i = 0; i < 4; i++) budget.recordRequest();
    expect(budget.stats().requests).toBe(8);
    clock.advance(600); // the first four (bucket 0) left the window, the last four have not
    expect(budget.stats().requests).toBe(4);
    clock.advance(1_000);
    expect(budget.stats().requests).toBe(0);
  });

  it('rejects nonsense options', () => {
    const clock = new ManualClock();
    expect(() => new RetryBudget({ ratio: -1, minPerSecond: 0 }, clock)).toThrow(RangeError);
    expect(() => new RetryBudget({ ratio: Number.NaN, minPerSecond: 0 }, clock)).toThrow(RangeError);
    expect(() => new RetryBudget({ ratio: 0.2, minPerSecond: 1, ttlMs: 1 }, clock)).toThrow(RangeError);
  });
});
