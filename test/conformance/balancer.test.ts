// Conformance: every Balancer kind honours the Picker contract — NO_ENDPOINTS, exclusion, done() once, updates.
import { describe, it, expect } from 'vitest';
import { ConnectFailedError, ManualClock, seededRng, type CallContext, type Outcome } from '../../src/core/index.js';
import { BALANCER_KIND_NAMES, endpointFromInstance, type Endpoint } from '../../src/model/index.js';
import { createBalancer, type Balancer, type BalancerKind, type Pick } from '../../src/balance/index.js';

function endpoints(n: number, from = 0, service = 'greeter'): Endpoint[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return endpointFromInstance({ id: `${service}-${i}`, service, host: '127.0.0.1', port: 9000 + i, weight: 1, protocol: 'http1', meta: {}, tags: [], ttlMs: 10_000, health: 'passing' });
  });
}

const base: CallContext = { attempt: 1 };
const ok: Outcome = { kind: 'success', latencyMs: 5, status: 200 };

function open(kind: BalancerKind, service = ''): Balancer {
  return createBalancer(kind, seededRng(11), service, { clock: new ManualClock(1_000) });
}

function picked(pick: Pick): Endpoint {
  if (!pick.ok) throw pick.error;
  return pick.endpoint;
}

// Half the contexts carry a hash key, so ring-hash is driven both through its ring and its keyless fallback.
function contexts(count: number): CallContext[] {
  return Array.from({ length: count }, (_, i) => (i % 2 === 0 ? { ...base, hashKey: `user-${i}` } : base));
}

describe.each(BALANCER_KIND_NAMES)('Balancer conformance: %s', (kind) => {
  it('answers NO_ENDPOINTS, naming the service, for an empty list and after every endpoint left', () => {
    const balancer = open(kind, 'greeter');
    const first = balancer.update([]).pick(base);
    balancer.update(endpoints(2));
    const later = balancer.update([]).pick({ ...base, hashKey: 'k' });
    for (const pick of [first, later]) {
      expect(pick.ok).toBe(false);
      if (!pick.ok) {
        expect(pick.error.code).toBe('NO_ENDPOINTS');
        expect(pick.error.details).toMatchObject({ service: 'greeter' });
      }
    }
  });

  it('picks only among the given endpoints', () => {
    const eps = endpoints(4);
    const ids = new Set(eps.map((e) => e.id));
    const picker = open(kind).update(eps);
    for (const ctx of contexts(200)) {
      const pick = picker.pick(ctx);
      expect(ids.has(picked(pick).id)).toBe(true);
      if (pick.ok) pick.done(ok);
    }
  });

  it('never picks an excluded endpoint while another is allowed', () => {
    const picker = open(kind).update(endpoints(5));
    const exclude = new Set(['greeter-0', 'greeter-2', 'greeter-3']);
    const seen = new Set<string>();
    for (const ctx of contexts(200)) {
      const pick = picker.pick({ ...ctx, attempt: 2, exclude });
      const id = picked(pick).id;
      expect(exclude.has(id)).toBe(false);
      seen.add(id);
      if (pick.ok) pick.done(ok);
    }
    expect([...seen].sort()).toEqual(['greeter-1', 'greeter-4']);
  });

  it('still picks when every endpoint is excluded', () => {
    const picker = open(kind).update(endpoints(3));
    const exclude = new Set(endpoints(3).map((e) => e.id));
    for (const ctx of contexts(10)) expect(picker.pick({ ...ctx, attempt: 4, exclude }).ok).toBe(true);
  });

  it('tolerates done() called more than once, and counts it once', () => {
    const balancer = open(kind);
    const picker = balancer.update(endpoints(2));
    const pick = picker.pick(base);
    expect(pick.ok).toBe(true);
    if (!pick.ok) return;
    pick.done(ok);
    pick.done(ok);
    pick.done({ kind: 'failure', latencyMs: 1, error: new ConnectFailedError('127.0.0.1:9000') });
    // Double-counted releases would show as negative load: both endpoints must still be in use.
    const seen = new Set<string>();
    for (const ctx of contexts(100)) {
      const p = picker.pick(ctx);
      seen.add(picked(p).id);
      if (p.ok) p.done(ok);
    }
    expect(seen.size).toBe(2);
  });

  it('keeps working across updates: new endpoints are picked, removed ones never again', () => {
    const balancer = open(kind);
    let picker = balancer.update(endpoints(3));
    const held: Pick[] = [];
    for (const ctx of contexts(30)) held.push(picker.pick(ctx));
    picker = balancer.update(endpoints(3, 2));
    // Picks outstanding from the old set finish after the update without harm.
    for (const pick of held) if (pick.ok) pick.done(ok);
    const seen = new Set<string>();
    for (const ctx of contexts(300)) {
      const pick = picker.pick(ctx);
      seen.add(picked(pick).id);
      if (pick.ok) pick.done(ok);
    }
    expect([...seen].sort()).toEqual(['greeter-2', 'greeter-3', 'greeter-4']);
  });

  it('gives a single endpoint every pick', () => {
    const picker = open(kind).update(endpoints(1));
    for (const ctx of contexts(20)) expect(picked(picker.pick(ctx)).id).toBe('greeter-0');
  });
});
