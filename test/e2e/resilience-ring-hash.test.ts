// E2E (issue 4, scenario 6): ring-hash on a header keeps each key on one instance and moves only a leaver's keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy, failuresOf, pacedLoad, ResilienceMesh, type Sample } from './fixtures/resilience-mesh.js';

const KEYS = 200;
const POLICY = `
kind: ServicePolicy
service: greeter
loadBalancer: { algorithm: ring-hash, hashOn: { header: x-user } }
`;

describe('resilience: ring-hash on a header', () => {
  let mesh: ResilienceMesh;
  const ids = ['greeter-1', 'greeter-2', 'greeter-3', 'greeter-4'];

  beforeAll(async () => {
    mesh = await ResilienceMesh.start(ids.map((id) => ({ id })));
    await mesh.apply(POLICY);
  }, 60_000);

  afterAll(() => mesh?.close(), 30_000);

  /** Each key `rounds` times (interleaved), at 500 requests/s; returns the instances that answered each key. */
  const sendKeys = async (rounds: number): Promise<Map<string, Set<string>>> => {
    const key = (i: number) => `user-${i % KEYS}`;
    const samples: Sample[] = await pacedLoad((i) => mesh.hello({ 'x-user': key(i) }), { rate: 500, count: KEYS * rounds, maxMs: 15_000 });
    expect(failuresOf(samples)).toEqual([]);
    expect(samples.length).toBe(KEYS * rounds);
    const owners = new Map<string, Set<string>>();
    samples.forEach((s, i) => {
      const set = owners.get(key(i)) ?? new Set<string>();
      set.add(s.instance ?? '?');
      owners.set(key(i), set);
    });
    return owners;
  };
  const single = (owners: Map<string, Set<string>>): Map<string, string> => {
    const split = [...owners].filter(([, set]) => set.size !== 1).map(([k, set]) => `${k}: ${[...set].join(',')}`);
    expect(split, 'keys answered by more than one instance').toEqual([]);
    return new Map([...owners].map(([k, set]) => [k, [...set][0]!]));
  };

  it('the same key always reaches the same instance; removing 1 of 4 moves only the keys that lived on it (≈ 25%)', async () => {
    const before = single(await sendKeys(3));
    const share = countBy([...before.values()].map((instance) => ({ instance }) as Sample), (s) => s.instance);
    expect(Object.keys(share).sort()).toEqual(ids);

    await mesh.stopGreeter('greeter-4');
    await mesh.waitForPassing(['greeter-1', 'greeter-2', 'greeter-3'], 20_000);
    const after = single(await sendKeys(2));

    const moved = [...before].filter(([k, owner]) => after.get(k) !== owner).map(([k]) => k).sort();
    const leaverKeys = [...before].filter(([, owner]) => owner === 'greeter-4').map(([k]) => k).sort();
    console.log(`ring-hash: keys per instance ${JSON.stringify(share)}; moved ${moved.length} of ${KEYS} (${((moved.length / KEYS) * 100).toFixed(1)}%), greeter-4 held ${leaverKeys.length}`);
    expect(moved).toEqual(leaverKeys);
    expect(moved.length / KEYS).toBeGreaterThanOrEqual(0.1);
    expect(moved.length / KEYS).toBeLessThanOrEqual(0.4);
  }, 60_000);
});
