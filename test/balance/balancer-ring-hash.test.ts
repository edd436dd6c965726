// Balance tests: ring-hash keeps a key on one endpoint, moves only the keys of an endpoint that leaves, and a fair share to one that joins.
import { describe, it, expect } from 'vitest';
import { seededRng, type CallContext } from '../../src/core/index.js';
import { endpointFromInstance, type Endpoint } from '../../src/model/index.js';
import { RingHashBalancer, hash53, type Pick, type Picker } from '../../src/balance/index.js';

function endpoint(id: string, weight = 1): Endpoint {
  const e = endpointFromInstance({ id, service: 'greeter', host: '127.0.0.1', port: 9000, weight: 1, protocol: 'http1', meta: {}, tags: [], ttlMs: 10_000, health: 'passing' });
  return { ...e, weight };
}

const base: CallContext = { attempt: 1 };
const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

function id(pick: Pick): string {
  if (!pick.ok) throw pick.error;
  return pick.endpoint.id;
}

function assign(picker: Picker, keys: readonly string[] = KEYS): string[] {
  return keys.map((hashKey) => id(picker.pick({ ...base, hashKey })));
}

function share(owners: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const owner of owners) counts.set(owner, (counts.get(owner) ?? 0) + 1 / owners.length);
  return counts;
}

const four = ['a', 'b', 'c', 'd'].map((name) => endpoint(name));

describe('hash53', () => {
  it('is stable, a safe integer, and spreads similar keys evenly', () => {
    expect(hash53('user-1')).toBe(hash53('user-1'));
    expect(hash53('user-1')).not.toBe(hash53('user-2'));
    const buckets = new Array<number>(16).fill(0);
    for (const key of KEYS) {
      const h = hash53(key);
      expect(Number.isSafeInteger(h) && h >= 0).toBe(true);
      buckets[Math.floor(h / 2 ** 49)]! += 1;
    }
    for (const count of buckets) expect(Math.abs(count - KEYS.length / 16)).toBeLessThan(KEYS.length / 16 / 5);
  });
});

describe('ring-hash', () => {
  it('sends the same key to the same endpoint, every time and from every new picker', () => {
    const balancer = new RingHashBalancer(seededRng(1));
    const first = assign(balancer.update(four));
    expect(assign(balancer.update(four))).toEqual(first);
    // Neither the order of the list nor a fresh balancer changes where a key lives.
    expect(assign(new RingHashBalancer(seededRng(2)).update([...four].reverse()))).toEqual(first);
  });

  it('spreads 10k keys roughly evenly over 4 endpoints', () => {
    for (const fraction of share(assign(new RingHashBalancer(seededRng(1)).update(four))).values()) {
      expect(fraction).toBeGreaterThan(0.25 * 0.75);
      expect(fraction).toBeLessThan(0.25 * 1.25);
    }
  });

  it('removing 1 of 4 endpoints moves exactly the keys that lived on it (about 25%)', () => {
    const balancer = new RingHashBalancer(seededRng(1));
    const before = assign(balancer.update(four));
    const after = assign(balancer.update(four.filter((e) => e.id !== 'c')));
    const moved = KEYS.filter((_, i) => before[i] !== after[i]);
    const livedOnC = KEYS.filter((_, i) => before[i] === 'c');
    expect(moved).toEqual(livedOnC);
    expect(moved.length / KEYS.length).toBeGreaterThan(0.25 * 0.75);
    expect(moved.length / KEYS.length).toBeLessThan(0.25 * 1.25);
  });

  it('adding a fifth endpoint moves about 1/5 of the keys, all of them to the newcomer', () => {
    const balancer = new RingHashBalancer(seededRng(1));
    const before = assign(balancer.update(four));
    const after = assign(balancer.update([...four, endpoint('e')]));
    const moved = KEYS.map((_, i) => i).filter((i) => before[i] !== after[i]);
    for (const i of moved) expect(after[i]).toBe('e');
    expect(moved.length / KEYS.length).toBeGreaterThan(0.2 * 0.75);
    expect(moved.length / KEYS.length).toBeLessThan(0.2 * 1.25);
  });

  it('gives an endpoint a share in proportion to its weight, and none to weight 0', () => {
    const picker = new RingHashBalancer(seededRng(1)).update([endpoint('a', 3), endpoint('b', 1), endpoint('z', 0)]);
    const shares = share(assign(picker));
    expect(shares.get('z')).toBeUndefined();
    expect(shares.get('a')!).toBeGreaterThan(0.75 * 0.85);
    expect(shares.get('a')!).toBeLessThan(0.75 * 1.15);
  });

  it('fits large weights into the ring bound and keeps their proportions', () => {
    const picker = new RingHashBalancer(seededRng(1), '', { maxRingSize: 4_096 }).update([endpoint('a', 10_000), endpoint('b', 10_000)]);
    const shares = share(assign(picker, KEYS.slice(0, 2_000)));
    expect(shares.get('a')!).toBeGreaterThan(0.35);
    expect(shares.get('a')!).toBeLessThan(0.65);
  });

  it('walks on from an excluded endpoint to the one the key would move to if it left', () => {
    const balancer = new RingHashBalancer(seededRng(1));
    const picker = balancer.update(four);
    const withoutC = assign(balancer.update(four.filter((e) => e.id !== 'c')));
    const exclude = new Set(['c']);
    const retried = KEYS.map((hashKey) => id(picker.pick({ ...base, attempt: 2, hashKey, exclude })));
    expect(retried).toEqual(withoutC);
  });

  it('falls back to a random spread when the request has no key', () => {
    const picker = new RingHashBalancer(seededRng(7)).update(four);
    const counts = share(Array.from({ length: 4_000 }, () => id(picker.pick(base))));
    expect(counts.size).toBe(4);
    for (const fraction of counts.values()) expect(Math.abs(fraction - 0.25)).toBeLessThan(0.05);
  });
});
