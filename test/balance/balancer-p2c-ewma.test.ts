// Balance tests: p2c-ewma prefers fast, idle endpoints, recovers slow ones after they speed up, and keeps estimates across updates.
import { describe, it, expect } from 'vitest';
import { ConnectFailedError, ManualClock, seededRng, type CallContext, type Outcome } from '../../src/core/index.js';
import { endpointFromInstance, type Endpoint } from '../../src/model/index.js';
import { P2cEwmaBalancer, PeakEwma, type Pick, type Picker } from '../../src/balance/index.js';

function endpoint(id: string): Endpoint {
  return endpointFromInstance({ id, service: 'greeter', host: '127.0.0.1', port: 9000, weight: 1, protocol: 'http1', meta: {}, tags: [], ttlMs: 10_000, health: 'passing' });
}

const ctx: CallContext = { attempt: 1 };
const success = (latencyMs: number): Outcome => ({ kind: 'success', latencyMs, status: 200 });

function id(pick: Pick): string {
  if (!pick.ok) throw pick.error;
  return pick.endpoint.id;
}

/**
 * Drives a picker like a sidecar under steady load: `inFlight` requests outstanding, one completing
 * and one starting every `stepMs`, each endpoint answering in the latency `latencyOf` gives it.
 */
class Traffic {
  private readonly queue: Pick[] = [];
  constructor(
    private readonly clock: ManualClock,
    private readonly latencyOf: (id: string) => number,
    private readonly inFlight = 4,
    private readonly stepMs = 5,
  ) {}

  run(picker: Picker, steps: number): Map<string, number> {
    const counts = new Map<string, number>();
    for (let i = 0; i < steps; i++) {
      this.clock.advance(this.stepMs);
      if (this.queue.length >= this.inFlight) {
        const oldest = this.queue.shift()!;
        if (oldest.ok) oldest.done(success(this.latencyOf(oldest.endpoint.id)));
      }
      const pick = picker.pick(ctx);
      counts.set(id(pick), (counts.get(id(pick)) ?? 0) + 1);
      this.queue.push(pick);
    }
    return counts;
  }
}

describe('PeakEwma', () => {
  it('jumps to a slower observation at once and decays toward faster ones with time', () => {
    const ewma = new PeakEwma(10_000, 30, 0);
    ewma.observe(200, 0);
    expect(ewma.estimate(0)).toBe(200);
    ewma.observe(2, 0);
    expect(ewma.estimate(0)).toBe(200); // no time passed: one fast answer does not undo a slow one
    ewma.observe(2, 10_000);
    expect(ewma.estimate(10_000)).toBeCloseTo(200 * Math.exp(-1) + 2 * (1 - Math.exp(-1)), 6);
  });

  it('decays toward zero without news, so a shunned endpoint is eventually probed', () => {
    const ewma = new PeakEwma(10_000, 100, 0);
    expect(ewma.estimate(10_000)).toBeCloseTo(100 * Math.exp(-1), 6);
    expect(ewma.estimate(100_000)).toBeLessThan(0.01);
  });

  it('multiplies by outstanding requests plus one', () => {
    const ewma = new PeakEwma(10_000, 10, 0);
    ewma.outstanding = 3;
    expect(ewma.cost(0)).toBe(40);
  });
});

describe('p2c-ewma', () => {
  const names = ['fast-a', 'fast-b', 'slow'];

  it('sends at least 80% of requests away from an endpoint 200 ms slower, and recovers it after it speeds up', () => {
    const clock = new ManualClock(0);
    const picker = new P2cEwmaBalancer(seededRng(5), clock, 'greeter').update(names.map(endpoint));
    let slowMs = 200;
    const traffic = new Traffic(clock, (name) => (name === 'slow' ? slowMs : 2));
    traffic.run(picker, 200); // warm-up: one second of traffic
    const measured = traffic.run(picker, 1_000);
    const avoided = 1 - (measured.get('slow') ?? 0) / 1_000;
    expect(avoided).toBeGreaterThanOrEqual(0.8);

    slowMs = 2;
    // The slow estimate decays until a probe finds the endpoint fast again; 60 s is ample for a 10 s decay.
    traffic.run(picker, 12_000);
    const after = traffic.run(picker, 3_000);
    expect(after.get('slow') ?? 0).toBeGreaterThan(3_000 * 0.2);
  });

  it('weighs outstanding requests: a busy fast endpoint yields to an idle slower one', () => {
    const clock = new ManualClock(0);
    const picker = new P2cEwmaBalancer(seededRng(1), clock, 'greeter', { defaultRttMs: 1 }).update([endpoint('a'), endpoint('b')]);
    // Teach the estimates without letting time pass: a answers in 10 ms, b in 45 ms.
    const first = picker.pick(ctx);
    const second = picker.pick(ctx);
    for (const pick of [first, second]) if (pick.ok) pick.done(success(pick.endpoint.id === 'a' ? 10 : 45));
    const held = Array.from({ length: 8 }, () => picker.pick(ctx));
    // Costs 10, 20, 30, 40 for a stay under b's 45; then b once (45 < 50), then a again (50, 60, 70 < 90).
    expect(held.map(id)).toEqual(['a', 'a', 'a', 'a', 'b', 'a', 'a', 'a']);
  });

  it('counts done() once: a repeated done does not make an endpoint look idle', () => {
    const clock = new ManualClock(0);
    const picker = new P2cEwmaBalancer(seededRng(2), clock).update([endpoint('a'), endpoint('b')]);
    const pick = picker.pick(ctx);
    if (pick.ok) {
      pick.done(success(30));
      pick.done(success(30));
    }
    // With equal estimates and honest counts, held picks alternate between the two.
    const held = Array.from({ length: 6 }, () => id(picker.pick(ctx)));
    expect(held.filter((x) => x === 'a').length).toBe(3);
    expect(held.filter((x) => x === 'b').length).toBe(3);
  });

  it('counts a fast failure as a penalty latency', () => {
    const clock = new ManualClock(0);
    const picker = new P2cEwmaBalancer(seededRng(3), clock, 'greeter', { failurePenaltyMs: 1_000 }).update([endpoint('a'), endpoint('b')]);
    const pick = picker.pick(ctx);
    const failed = id(pick);
    if (pick.ok) pick.done({ kind: 'failure', latencyMs: 1, error: new ConnectFailedError('127.0.0.1:9000') });
    const next = Array.from({ length: 20 }, () => {
      const p = picker.pick(ctx);
      if (p.ok) p.done(success(30));
      return id(p);
    });
    expect(next).not.toContain(failed);
  });

  it('keeps estimates across updates and gives a new endpoint traffic without a flood', () => {
    const clock = new ManualClock(0);
    const balancer = new P2cEwmaBalancer(seededRng(9), clock, 'greeter');
    const traffic = new Traffic(clock, (name) => (name === 'slow' ? 200 : 2), 8);
    traffic.run(balancer.update(names.map(endpoint)), 400);
    // The slow endpoint keeps its bad estimate through an update that adds a newcomer.
    const picker = balancer.update([...names, 'new'].map(endpoint));
    const early = traffic.run(picker, 200);
    expect(early.get('slow') ?? 0).toBeLessThan(20);
    expect(early.get('new') ?? 0).toBeLessThan(200 / 3);
    const later = traffic.run(picker, 4_000);
    expect(later.get('new') ?? 0).toBeGreaterThan(0);
  });

  it('picks among the endpoints not excluded, by cost', () => {
    const clock = new ManualClock(0);
    const picker = new P2cEwmaBalancer(seededRng(4), clock).update(['a', 'b', 'c', 'd'].map(endpoint));
    const exclude = new Set(['a', 'b']);
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add(id(picker.pick({ ...ctx, attempt: 2, exclude })));
    expect([...seen].sort()).toEqual(['c', 'd']);
  });
});
