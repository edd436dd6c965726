import { describe, it, expect } from 'vitest';
import { CircuitOpenError, ConnectFailedError, ManualClock, UpstreamResetError, type Outcome } from '../../src/core/index.js';
import { OutlierDetector, type OutlierDetectorOptions } from '../../src/resilience/index.js';

const ok: Outcome = { kind: 'success', latencyMs: 1, status: 200 };
const s = (status: number): Outcome => ({ kind: 'success', latencyMs: 1, status });
const connect: Outcome = { kind: 'failure', latencyMs: 1, error: new ConnectFailedError('a') };
const reset: Outcome = { kind: 'failure', latencyMs: 1, error: new UpstreamResetError('a') };
const open: Outcome = { kind: 'failure', latencyMs: 0, error: new CircuitOpenError('a', 10) };

const endpoints = ['a', 'b', 'c', 'd'].map((id) => ({ id }));

function setup(options: Partial<OutlierDetectorOptions> = {}) {
  const clock = new ManualClock();
  const changes: string[] = [];
  const detector = new OutlierDetector(
    { consecutive5xx: 5, consecutiveGatewayErrors: 3, baseEjectionMs: 30_000, maxEjectionPercent: 50, onChange: (id, e) => changes.push(`${id}:${e ? 'out' : 'in'}`), ...options },
    clock,
  );
  detector.update(endpoints);
  return { clock, detector, changes };
}

function fail(detector: OutlierDetector, id: string, outcome: Outcome, n: number): string {
  let verdict = 'none';
  for (let i = 0; i < n; i++) verdict = detector.record(id, outcome);
  return verdict;
}

describe('outlier detector', () => {
  it('ejects after consecutive 5xx, and a success in between resets the streak', () => {
    const { detector } = setup({ consecutiveGatewayErrors: 0 });
    fail(detector, 'a', s(500), 4);
    detector.record('a', ok);
    expect(fail(detector, 'a', s(500), 4)).toBe('none');
    expect(detector.isEjected('a')).toBe(false);
    expect(detector.record('a', s(500))).toBe('ejected');
    expect(detector.isEjected('a')).toBe(true);
    expect(detector.ejectionsTotal()).toBe(1);
  });

  it('ejects after consecutive gateway errors, counting connect failures and resets but not a 500 or a local refusal', () => {
    const { detector } = setup({ consecutive5xx: 0 });
    detector.record('a', s(502));
    detector.record('a', connect);
    detector.record('a', s(500)); // breaks the gateway streak
    detector.record('a', reset);
    detector.record('a', open); // never reached the endpoint: not counted either way
    detector.record('a', s(504));
    expect(detector.isEjected('a')).toBe(false);
    expect(detector.record('a', s(503))).toBe('ejected');
    expect(fail(detector, 'b', connect, 3)).toBe('ejected');
  });

  it('grows the ejection time with each ejection and brings the endpoint back by itself', () => {
    const { clock, detector, changes } = setup();
    fail(detector, 'a', connect, 3);
    clock.advance(29_999);
    expect(detector.isEjected('a')).toBe(true);
    clock.advance(1);
    expect(detector.isEjected('a')).toBe(false);
    // Ejected again at once: the second time lasts 2 × base.
    fail(detector, 'a', connect, 3);
    clock.advance(59_999);
    expect(detector.isEjected('a')).toBe(true);
    clock.advance(1);
    expect(detector.isEjected('a')).toBe(false);
    fail(detector, 'a', connect, 3);
    clock.advance(89_999);
    expect(detector.isEjected('a')).toBe(true);
    clock.advance(1);
    expect(detector.ejectedCount()).toBe(0);
    expect(changes).toEqual(['a:out', 'a:in', 'a:out', 'a:in', 'a:out', 'a:in']);
  });

  it('lets a long clean spell bring the multiplier down, and caps one ejection at maxEjectionMs', () => {
    const { clock, detector } = setup({ maxEjectionMs: 50_000 });
    fail(detector, 'a', connect, 3);
    clock.advance(30_000);
    fail(detector, 'a', connect, 3); // second: 60 s, capped at 50 s
    clock.advance(49_999);
    expect(detector.isEjected('a')).toBe(true);
    clock.advance(1);
    expect(detector.isEjected('a')).toBe(false);
    // Two base periods clean: back to the first step.
    clock.advance(60_000);
    fail(detector, 'a', connect, 3);
    clock.advance(30_000);
    expect(detector.isEjected('a')).toBe(false);
  });

  it('never ejects more than maxEjectionPercent, and always leaves one endpoint', () => {
    const { clock, detector } = setup();
    expect(fail(detector, 'a', connect, 3)).toBe('ejected');
    expect(fail(detector, 'b', connect, 3)).toBe('ejected');
    expect(fail(detector, 'c', connect, 3)).toBe('capped'); // 2 of 4 = 50 % already out
    expect(detector.cappedTotal()).toBe(1);
    expect(detector.eligible(endpoints).map((e) => e.id)).toEqual(['c', 'd']);
    // When a slot frees, the endpoint still over its threshold goes at its next failure.
    clock.advance(30_000);
    expect(detector.record('c', connect)).toBe('ejected');

    const all = setup({ maxEjectionPercent: 100 });
    all.detector.update([{ id: 'x' }, { id: 'y' }]);
    expect(fail(all.detector, 'x', connect, 3)).toBe('ejected');
    expect(fail(all.detector, 'y', connect, 3)).toBe('capped');
    expect(all.detector.eligible([{ id: 'x' }, { id: 'y' }]).map((e) => e.id)).toEqual(['y']);

    const three = setup({ maxEjectionPercent: 50 });
    three.detector.update([{ id: 'p' }, { id: 'q' }, { id: 'r' }]);
    expect(fail(three.detector, 'p', s(500), 5)).toBe('ejected');
    expect(fail(three.detector, 'q', s(500), 5)).toBe('capped');
  });

  it('returns the same array while nothing changes, and forgets endpoints that left', () => {
    const { clock, detector } = setup();
    expect(detector.eligible(endpoints)).toBe(endpoints);
    fail(detector, 'b', connect, 3);
    const first = detector.eligible(endpoints);
    expect(first.map((e) => e.id)).toEqual(['a', 'c', 'd']);
    expect(detector.eligible(endpoints)).toBe(first);
    clock.advance(30_000);
    expect(detector.eligible(endpoints)).toBe(endpoints);
    fail(detector, 'b', connect, 3);
    detector.update(endpoints.filter((e) => e.id !== 'b'));
    expect(detector.ejectedCount()).toBe(0);
  });

  it('rejects bad options', () => {
    const clock = new ManualClock();
    expect(() => new OutlierDetector({ baseEjectionMs: 1, maxEjectionPercent: 101 }, clock)).toThrow(RangeError);
    expect(() => new OutlierDetector({ baseEjectionMs: -1, maxEjectionPercent: 10 }, clock)).toThrow(RangeError);
  });
});
