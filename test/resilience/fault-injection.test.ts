import { describe, it, expect } from 'vitest';
import { FaultInjectedError, seededRng } from '../../src/core/index.js';
import { FaultInjector } from '../../src/resilience/index.js';

describe('fault injection', () => {
  it('delays and aborts the configured share of requests', () => {
    const injector = new FaultInjector({ delay: { percent: 25, ms: 40 }, abort: { percent: 10, status: 503 } }, seededRng(11));
    let delayed = 0;
    let aborted = 0;
    for (let i = 0; i < 4_000; i++) {
      const delay = injector.delayMs();
      if (delay > 0) {
        expect(delay).toBe(40);
        delayed++;
      }
      const abort = injector.abort();
      if (abort) {
        expect(abort).toBeInstanceOf(FaultInjectedError);
        expect(abort.code).toBe('FAULT_INJECTED');
        expect(abort.details).toEqual({ status: 503 });
        aborted++;
      }
    }
    expect(delayed / 4_000).toBeGreaterThan(0.22);
    expect(delayed / 4_000).toBeLessThan(0.28);
    expect(aborted / 4_000).toBeGreaterThan(0.08);
    expect(aborted / 4_000).toBeLessThan(0.12);
    expect(injector.counts()).toEqual({ delayed, aborted });
  });

  it('does nothing, and draws nothing, at 0 %; everything at 100 %', () => {
    let draws = 0;
    const counting = { next: () => (draws++, 0.5) };
    const off = new FaultInjector({ delay: { percent: 0, ms: 0 }, abort: { percent: 0, status: 503 } }, counting);
    expect(off.active).toBe(false);
    expect(off.delayMs()).toBe(0);
    expect(off.abort()).toBeNull();
    expect(draws).toBe(0);
    const always = new FaultInjector({ abort: { percent: 100, status: 500 } }, seededRng(1));
    expect(always.active).toBe(true);
    for (let i = 0; i < 100; i++) expect(always.abort()?.details).toEqual({ status: 500 });
  });

  it('rejects bad options', () => {
    const rng = seededRng(1);
    expect(() => new FaultInjector({ abort: { percent: 101, status: 503 } }, rng)).toThrow(RangeError);
    expect(() => new FaultInjector({ abort: { percent: 5, status: 99 } }, rng)).toThrow(RangeError);
    expect(() => new FaultInjector({ delay: { percent: 5, ms: -1 } }, rng)).toThrow(RangeError);
  });
});
