// Balance tests: smooth weighted round-robin gives exact, interleaved proportions and keeps its state across updates.
import { describe, it, expect } from 'vitest';
import type { CallContext } from '../../src/core/index.js';
import { endpointFromInstance, type Endpoint } from '../../src/model/index.js';
import { WeightedBalancer, type Pick, type Picker } from '../../src/balance/index.js';

function endpoint(id: string, weight: number): Endpoint {
  const e = endpointFromInstance({ id, service: 'greeter', host: '127.0.0.1', port: 9000, weight: 1, protocol: 'http1', meta: {}, tags: [], ttlMs: 10_000, health: 'passing' });
  // The registry never stores weight 0, but a subset or policy may hand one over: build it by hand.
  return { ...e, weight };
}

const ctx: CallContext = { attempt: 1 };

function id(pick: Pick): string {
  if (!pick.ok) throw pick.error;
  return pick.endpoint.id;
}

function sequence(picker: Picker, n: number, context: CallContext = ctx): string[] {
  return Array.from({ length: n }, () => id(picker.pick(context)));
}

describe('weighted', () => {
  it('interleaves weights 5, 1, 1 as a a b a c a a, again and again', () => {
    const picker = new WeightedBalancer().update([endpoint('a', 5), endpoint('b', 1), endpoint('c', 1)]);
    const once = ['a', 'a', 'b', 'a', 'c', 'a', 'a'];
    expect(sequence(picker, 21)).toEqual([...once, ...once, ...once]);
  });

  it('gives exact proportions over every full cycle', () => {
    const weights: Record<string, number> = { a: 7, b: 3, c: 2, d: 1 };
    const picker = new WeightedBalancer().update(Object.entries(weights).map(([name, w]) => endpoint(name, w)));
    for (let cycle = 0; cycle < 5; cycle++) {
      const counts: Record<string, number> = {};
      for (const name of sequence(picker, 13)) counts[name] = (counts[name] ?? 0) + 1;
      expect(counts).toEqual(weights);
    }
  });

  it('never runs an endpoint more than its share in a row: weights 1:1 alternate', () => {
    const picker = new WeightedBalancer().update([endpoint('a', 2), endpoint('b', 2)]);
    expect(sequence(picker, 6)).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
  });

  it('never picks an endpoint of weight 0, and has no endpoints when all weigh 0', () => {
    const picker = new WeightedBalancer().update([endpoint('a', 0), endpoint('b', 3), endpoint('c', 0)]);
    expect(new Set(sequence(picker, 30))).toEqual(new Set(['b']));
    const none = new WeightedBalancer('greeter').update([endpoint('a', 0)]).pick(ctx);
    expect(none.ok).toBe(false);
    if (!none.ok) expect(none.error.code).toBe('NO_ENDPOINTS');
  });

  it('is deterministic: two balancers fed the same updates agree pick for pick', () => {
    const eps = [endpoint('a', 4), endpoint('b', 3), endpoint('c', 2)];
    const x = new WeightedBalancer().update(eps);
    const y = new WeightedBalancer().update(eps);
    expect(sequence(x, 50)).toEqual(sequence(y, 50));
  });

  it('keeps current weights across an update, keyed by endpoint id', () => {
    const balancer = new WeightedBalancer();
    const eps = [endpoint('a', 5), endpoint('b', 1), endpoint('c', 1)];
    const first = sequence(balancer.update(eps), 3);
    // A new picker for the same endpoints, in another order, carries on where the old one stopped.
    const rest = sequence(balancer.update([eps[2]!, eps[0]!, eps[1]!]), 4);
    expect([...first, ...rest].sort()).toEqual(['a', 'a', 'a', 'a', 'a', 'b', 'c']);
    expect(first).toEqual(['a', 'a', 'b']);
  });

  it('follows a weight change at the next update', () => {
    const balancer = new WeightedBalancer();
    sequence(balancer.update([endpoint('a', 1), endpoint('b', 1)]), 2);
    const picker = balancer.update([endpoint('a', 3), endpoint('b', 1)]);
    const counts = { a: 0, b: 0 };
    for (const name of sequence(picker, 400)) counts[name as 'a' | 'b']++;
    expect(counts).toEqual({ a: 300, b: 100 });
  });

  it('spreads a retry over the untried endpoints by their weights', () => {
    const picker = new WeightedBalancer().update([endpoint('a', 5), endpoint('b', 2), endpoint('c', 1)]);
    const exclude = new Set(['a']);
    const counts = { a: 0, b: 0, c: 0 };
    for (const name of sequence(picker, 30, { ...ctx, attempt: 2, exclude })) counts[name as 'a' | 'b' | 'c']++;
    expect(counts).toEqual({ a: 0, b: 20, c: 10 });
  });
});
