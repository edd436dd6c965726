// Tests: the static snapshot source publishes whole new snapshots on set().
import { describe, expect, it } from 'vitest';
import type { Instance, Snapshot } from '../../src/model/index.js';
import { StaticSnapshotSource } from '../../src/resolve/index.js';

const inst = (id: string, service = 'greeter'): Instance => ({ id, service, host: '127.0.0.1', port: 9000, weight: 1, protocol: 'http1', meta: {}, tags: [], ttlMs: 10_000, health: 'passing' });

describe('StaticSnapshotSource', () => {
  it('serves its instances grouped by service and republishes on set', () => {
    const source = new StaticSnapshotSource([inst('b'), inst('a'), inst('x', 'other')], 3);
    expect(source.current().version).toBe(3);
    expect(source.current().services.get('greeter')?.map((e) => e.id)).toEqual(['a', 'b']);
    const seen: Snapshot[] = [];
    const unsubscribe = source.subscribe((s) => seen.push(s));
    source.set([inst('c')], 7);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.version).toBe(7);
    expect([...source.current().services.keys()]).toEqual(['greeter']);
    unsubscribe();
    source.set([]);
    expect(seen).toHaveLength(1);
    expect(source.current().version).toBe(8);
  });

  it('keeps the endpoint array of a service whose instances set() gives again, and renews a changed one', () => {
    const source = new StaticSnapshotSource([inst('a'), inst('b'), inst('x', 'other')]);
    const before = source.current();
    source.set([inst('a'), { ...inst('b'), weight: 3 }, inst('x', 'other')]);
    const after = source.current();
    expect(after.services.get('other')).toBe(before.services.get('other'));
    expect(after.services.get('greeter')).not.toBe(before.services.get('greeter'));
    expect(after.services.get('greeter')?.[0]).toBe(before.services.get('greeter')?.[0]);
    expect(after.services.get('greeter')?.[1]?.weight).toBe(3);
  });
});
