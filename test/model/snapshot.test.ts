// Model: snapshots built over the previous one share what did not change — a service's endpoint array and its Endpoint objects.
import { describe, expect, it } from 'vitest';
import { snapshotFromInstances, type Instance, type Snapshot } from '../../src/model/index.js';

const inst = (id: string, service = 'a', over: Partial<Instance> = {}): Instance => ({
  id, service, host: '10.0.0.1', port: 8080, weight: 1, protocol: 'http1', meta: { zone: 'z1' }, tags: [], ttlMs: 10_000, health: 'passing', ...over,
});
const BASE = [inst('a1'), inst('a2'), inst('b1', 'b'), inst('b2', 'b')];

function next(previous: Snapshot, instances: readonly Instance[]): Snapshot {
  return snapshotFromInstances(previous.version + 1, instances, undefined, undefined, previous);
}

describe('snapshotFromInstances over a previous snapshot', () => {
  it('keeps the array and Endpoint objects of a service whose instances are the same, even as fresh objects', () => {
    const first = snapshotFromInstances(1, BASE);
    // Instances arrive as new objects on every event (parsed JSON): equal content is what counts.
    const second = next(first, [...BASE.map((i) => ({ ...i, meta: { ...i.meta } })).reverse()]);
    expect(second.services.get('a')).toBe(first.services.get('a'));
    expect(second.services.get('b')).toBe(first.services.get('b'));
    expect(second.services).not.toBe(first.services);
    // Tags, TTL and a health reason are not the data plane's: they change nothing it sees.
    const third = next(second, BASE.map((i) => (i.id === 'a1' ? { ...i, tags: ['x'], ttlMs: 20_000, healthReason: 'fine' } : i)));
    expect(third.services.get('a')).toBe(first.services.get('a'));
  });

  it.each<[string, Partial<Instance>]>([
    ['meta', { meta: { zone: 'z2' } }],
    ['a meta key more', { meta: { zone: 'z1', version: 'v2' } }],
    ['a meta key less', { meta: {} }],
    ['weight', { weight: 5 }],
    ['health', { health: 'critical' }],
    ['protocol', { protocol: 'grpc' }],
    ['host', { host: '10.0.0.2' }],
    ['port', { port: 8081 }],
  ])('gives a service a new array when an instance changes its %s, keeping the other endpoints and services', (_what, change) => {
    const first = snapshotFromInstances(1, BASE);
    const second = next(first, BASE.map((i) => (i.id === 'a2' ? { ...i, ...change } : i)));
    const [a1, a2] = second.services.get('a')!;
    expect(second.services.get('a')).not.toBe(first.services.get('a'));
    expect(a1).toBe(first.services.get('a')![0]);
    expect(a2).not.toBe(first.services.get('a')![1]);
    expect(a2).toMatchObject(change);
    expect(second.services.get('b')).toBe(first.services.get('b'));
  });

  it('gives a new array when an instance is added or removed, and drops a service that has none left', () => {
    const first = snapshotFromInstances(1, BASE);
    const added = next(first, [...BASE, inst('a0')]);
    expect(added.services.get('a')?.map((e) => e.id)).toEqual(['a0', 'a1', 'a2']);
    expect(added.services.get('a')?.[1]).toBe(first.services.get('a')?.[0]);
    const removed = next(added, BASE.filter((i) => i.id !== 'a1'));
    expect(removed.services.get('a')?.map((e) => e.id)).toEqual(['a2']);
    expect(removed.services.get('a')?.[0]).toBe(first.services.get('a')?.[1]);
    const gone = next(removed, BASE.filter((i) => i.service === 'b'));
    expect([...gone.services.keys()]).toEqual(['b']);
    expect(gone.services.get('b')).toBe(first.services.get('b'));
  });

  it('does not take a duplicate id for an unchanged list', () => {
    const first = snapshotFromInstances(1, [inst('a1'), inst('a2')]);
    const second = next(first, [inst('a1'), inst('a1')]);
    expect(second.services.get('a')).not.toBe(first.services.get('a'));
    expect(second.services.get('a')?.map((e) => e.id)).toEqual(['a1', 'a1']);
  });

  it('builds every array afresh without a previous snapshot', () => {
    const first = snapshotFromInstances(1, BASE);
    expect(snapshotFromInstances(2, BASE).services.get('a')).not.toBe(first.services.get('a'));
  });
});
