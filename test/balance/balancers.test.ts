import { describe, it, expect } from 'vitest';
import { seededRng, type CallContext, type Outcome } from '../../src/core/index.js';
import { BALANCER_KIND_NAMES, endpointFromInstance, type Endpoint } from '../../src/model/index.js';
import { createBalancer, type Pick } from '../../src/balance/index.js';

function endpoints(n: number, service = 'greeter'): Endpoint[] {
  return Array.from({ length: n }, (_, i) =>
    endpointFromInstance({ id: `${service}-${i}`, service, host: '127.0.0.1', port: 9000 + i, weight: 1, protocol: 'http1', meta: {}, tags: [], ttlMs: 10_000, health: 'passing' }),
  );
}

const ctx: CallContext = { attempt: 1 };
const ok: Outcome = { kind: 'success', latencyMs: 1, status: 200 };

function picked(pick: Pick): Endpoint {
  if (!pick.ok) throw pick.error;
  return pick.endpoint;
}

function count(picks: Endpoint[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of picks) out.set(e.id, (out.get(e.id) ?? 0) + 1);
  return out;
}

describe('round-robin', () => {
  it('spreads 300 picks over 3 endpoints exactly 100 each', () => {
    const picker = createBalancer('round-robin', seededRng(1)).update(endpoints(3));
    const seen = count(Array.from({ length: 300 }, () => picked(picker.pick(ctx))));
    expect([...seen.values()]).toEqual([100, 100, 100]);
  });

  it('keeps its cursor across updates', () => {
    const balancer = createBalancer('round-robin', seededRng(1));
    const eps = endpoints(3);
    const first = picked(balancer.update(eps).pick(ctx));
    const second = picked(balancer.update(eps).pick(ctx));
    const third = picked(balancer.update([...eps]).pick(ctx));
    expect([first.id, second.id, third.id]).toEqual(['greeter-0', 'greeter-1', 'greeter-2']);
  });
});

describe('random', () => {
  it('stays within 5% of the mean per endpoint over 30k picks with a seeded Rng', () => {
    const picker = createBalancer('random', seededRng(42)).update(endpoints(3));
    const seen = count(Array.from({ length: 30_000 }, () => picked(picker.pick(ctx))));
    expect(seen.size).toBe(3);
    for (const n of seen.values()) expect(Math.abs(n - 10_000)).toBeLessThan(500);
  });

  it('is deterministic for a given seed', () => {
    const a = createBalancer('random', seededRng(7)).update(endpoints(5));
    const b = createBalancer('random', seededRng(7)).update(endpoints(5));
    for (let i = 0; i < 100; i++) expect(picked(a.pick(ctx)).id).toBe(picked(b.pick(ctx)).id);
  });
});

describe('least-connections', () => {
  it('prefers the idle endpoint', () => {
    const picker = createBalancer('least-connections', seededRng(1)).update(endpoints(3));
    const held = [picker.pick(ctx), picker.pick(ctx)];
    const ids = held.map((p) => picked(p).id);
    expect(ids).toEqual(['greeter-0', 'greeter-1']);
    expect(picked(picker.pick(ctx)).id).toBe('greeter-2');
  });

  it('balances under held connections and counts done() once', () => {
    const balancer = createBalancer('least-connections', seededRng(1));
    const picker = balancer.update(endpoints(3));
    const held: Pick[] = [];
    for (let i = 0; i < 30; i++) held.push(picker.pick(ctx));
    expect([...count(held.map(picked)).values()]).toEqual([10, 10, 10]);
    // Releasing four picks of greeter-1 (one released twice) makes it the least loaded by exactly four.
    const ofOne = held.filter((p) => picked(p).id === 'greeter-1').slice(0, 4);
    for (const p of ofOne) if (p.ok) p.done(ok);
    if (ofOne[0]!.ok) ofOne[0]!.done(ok);
    // The counts survive an update.
    const next = balancer.update(endpoints(3));
    const more = Array.from({ length: 4 }, () => picked(next.pick(ctx)).id);
    expect(more).toEqual(['greeter-1', 'greeter-1', 'greeter-1', 'greeter-1']);
    expect(picked(next.pick(ctx)).id).not.toBe('greeter-1');
  });

  it('spreads exactly evenly when idle (ties go round-robin)', () => {
    const picker = createBalancer('least-connections', seededRng(1)).update(endpoints(3));
    const seen: Endpoint[] = [];
    for (let i = 0; i < 300; i++) {
      const p = picker.pick(ctx);
      seen.push(picked(p));
      if (p.ok) p.done(ok);
    }
    expect([...count(seen).values()]).toEqual([100, 100, 100]);
  });
});

describe.each(BALANCER_KIND_NAMES)('%s: common contract', (kind) => {
  it('returns NO_ENDPOINTS for an empty list', () => {
    const pick = createBalancer(kind, seededRng(3), 'greeter').update([]).pick(ctx);
    expect(pick.ok).toBe(false);
    if (!pick.ok) {
      expect(pick.error.code).toBe('NO_ENDPOINTS');
      expect(pick.error.details).toMatchObject({ service: 'greeter' });
    }
  });

  it('skips excluded endpoints while another is available', () => {
    const picker = createBalancer(kind, seededRng(3)).update(endpoints(3));
    const exclude = new Set(['greeter-0', 'greeter-2']);
    for (let i = 0; i < 50; i++) expect(picked(picker.pick({ ...ctx, attempt: 2, exclude })).id).toBe('greeter-1');
  });

  it('still picks when every endpoint is excluded', () => {
    const picker = createBalancer(kind, seededRng(3)).update(endpoints(2));
    const exclude = new Set(['greeter-0', 'greeter-1']);
    expect(picker.pick({ ...ctx, attempt: 3, exclude }).ok).toBe(true);
  });
});
