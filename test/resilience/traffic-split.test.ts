import { describe, it, expect } from 'vitest';
import { seededRng } from '../../src/core/index.js';
import { RouteTable, TrafficSplit, matchesSubset, subsetEndpoints } from '../../src/resilience/index.js';

const endpoints: { id: string; meta: Record<string, string> }[] = [
  { id: 'a', meta: { version: 'v1', zone: 'x' } },
  { id: 'b', meta: { version: 'v1', zone: 'y' } },
  { id: 'c', meta: { version: 'v2', zone: 'x' } },
  { id: 'd', meta: {} },
];

describe('traffic split', () => {
  it('splits 90/10 over 2,000 requests within ±3 %', () => {
    const split = new TrafficSplit([
      { subset: { version: 'v1' }, weight: 90 },
      { subset: { version: 'v2' }, weight: 10 },
    ]);
    for (const seed of [1, 2, 3, 42]) {
      const rng = seededRng(seed);
      let v2 = 0;
      for (let i = 0; i < 2_000; i++) if (split.choose(rng)?.subset?.version === 'v2') v2++;
      expect(Math.abs(v2 / 2_000 - 0.1)).toBeLessThanOrEqual(0.03);
    }
  });

  it('with the canary route, the header always reaches v2', () => {
    const routes = [
      { match: { headers: { 'x-canary': '1' } }, split: new TrafficSplit([{ subset: { version: 'v2' }, weight: 100 }]) },
      { match: { pathPrefix: '/' }, split: new TrafficSplit([{ subset: { version: 'v1' }, weight: 90 }, { subset: { version: 'v2' }, weight: 10 }]) },
    ];
    const table = new RouteTable(routes);
    const rng = seededRng(5);
    for (let i = 0; i < 500; i++) {
      const backend = table.match('/hello', { 'x-canary': '1' })?.split.choose(rng);
      expect(subsetEndpoints(endpoints, backend?.subset).map((e) => e.id)).toEqual(['c']);
    }
  });

  it('never chooses a weight-0 backend, and chooses nothing when all weights are 0', () => {
    const rng = seededRng(9);
    const split = new TrafficSplit([{ weight: 0, name: 'off' }, { weight: 3, name: 'on' }, { weight: 0, name: 'off2' }]);
    for (let i = 0; i < 1_000; i++) expect(split.choose(rng)?.name).toBe('on');
    expect(new TrafficSplit([{ weight: 0 }]).choose(rng)).toBeUndefined();
    expect(new TrafficSplit([]).choose(rng)).toBeUndefined();
    expect(() => new TrafficSplit([{ weight: -1 }])).toThrow(RangeError);
  });

  it('selects endpoints by every key of the subset', () => {
    expect(subsetEndpoints(endpoints, { version: 'v1' }).map((e) => e.id)).toEqual(['a', 'b']);
    expect(subsetEndpoints(endpoints, { version: 'v1', zone: 'y' }).map((e) => e.id)).toEqual(['b']);
    expect(subsetEndpoints(endpoints, { version: 'v3' })).toEqual([]);
    expect(subsetEndpoints(endpoints, {})).toBe(endpoints);
    expect(subsetEndpoints(endpoints, undefined)).toBe(endpoints);
    expect(matchesSubset({}, { version: 'v1' })).toBe(false);
    expect(matchesSubset({ version: 'v1' }, undefined)).toBe(true);
  });
});
