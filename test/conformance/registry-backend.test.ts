// Conformance: every RegistryBackend (memory, embedded log, etcd) behaves the same for put/delete/list/watch, conditions and revisions.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/telemetry/index.js';
import { EmbeddedBackend, MemoryBackend, openEtcdBackend, parseEtcdUrl, type BackendEvent, type RegistryBackend } from '../../src/registry/index.js';
import { requireEtcd, startEtcd, type EtcdCluster } from '../support/index.js';

const runtime = () => createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) });
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

interface Fixture {
  name: string;
  open(): Promise<RegistryBackend>;
}

const dirs: string[] = [];
const etcdBinary = await requireEtcd();
let etcd: EtcdCluster | undefined;
let etcdPrefixes = 0;
afterAll(async () => {
  await etcd?.close();
});

const fixtures: Fixture[] = [
  { name: 'MemoryBackend', open: async () => new MemoryBackend() },
  {
    name: 'EmbeddedBackend',
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'weft-conf-'));
      dirs.push(dir);
      return EmbeddedBackend.open(dir, runtime());
    },
  },
  ...(etcdBinary === undefined
    ? []
    : [
        {
          name: 'EtcdBackend',
          open: async () => {
            etcd ??= await startEtcd(etcdBinary);
            // A prefix per test: one cluster, but each test sees a store of its own.
            return openEtcdBackend(parseEtcdUrl(`etcd://${etcd.endpoints}/conformance-${++etcdPrefixes}/`), runtime());
          },
        },
      ]),
];

async function collect(iterable: AsyncIterable<BackendEvent>, count: number, signal: AbortController): Promise<BackendEvent[]> {
  const out: BackendEvent[] = [];
  const timer = setTimeout(() => signal.abort(), 10_000);
  try {
    for await (const event of iterable) {
      out.push(event);
      if (out.length >= count) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return out;
}

describe.each(fixtures)('RegistryBackend conformance: $name', (fixture) => {
  let backend: RegistryBackend | undefined;
  /** The store revision when the test's backend opened: a shared store (etcd) starts wherever its history is. */
  let base = 0;
  const open = async (): Promise<RegistryBackend> => {
    const opened = await fixture.open();
    base = opened.revision();
    return opened;
  };
  afterEach(async () => {
    await backend?.close();
    backend = undefined;
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('starts empty, at its current revision', async () => {
    backend = await open();
    expect(await backend.list('')).toEqual({ revision: base, items: [] });
  });

  it('put returns increasing revisions and list shows the latest values sorted by key', async () => {
    backend = await open();
    const r1 = await backend.put('a/2', bytes('x'));
    const r2 = await backend.put('a/1', bytes('y'));
    const r3 = await backend.put('a/2', bytes('z'));
    await backend.put('b/1', bytes('other'));
    expect([r1, r2, r3].map((r) => r - base)).toEqual([1, 2, 3]);
    const listed = await backend.list('a/');
    expect(listed.revision - base).toBe(4);
    expect(listed.items.map((i) => [i.key, text(i.value), i.version - base])).toEqual([
      ['a/1', 'y', 2],
      ['a/2', 'z', 3],
    ]);
    expect(backend.revision() - base).toBe(4);
  });

  it('get reads one key exactly — not a longer key it prefixes — and nothing once deleted', async () => {
    backend = await open();
    await backend.put('tokens/ab', bytes('short'));
    await backend.put('tokens/abc', bytes('long'));
    const got = await backend.get('tokens/ab');
    expect(got === undefined ? undefined : [got.key, text(got.value), got.version - base]).toEqual(['tokens/ab', 'short', 1]);
    expect(await backend.get('tokens/a')).toBeUndefined();
    await backend.delete('tokens/ab');
    expect(await backend.get('tokens/ab')).toBeUndefined();
    expect(text((await backend.get('tokens/abc'))!.value)).toBe('long');
  });

  it('delete bumps the revision, and of a missing key returns the current revision', async () => {
    backend = await open();
    await backend.put('k', bytes('v'));
    expect((await backend.delete('k')) - base).toBe(2);
    expect((await backend.delete('k')) - base).toBe(2);
    expect((await backend.delete('never')) - base).toBe(2);
    expect((await backend.list('')).items).toEqual([]);
    expect(backend.revision() - base).toBe(2);
  });

  it('stored values do not change when the caller reuses its buffer', async () => {
    backend = await open();
    const buf = bytes('abc');
    await backend.put('k', buf);
    buf[0] = 0x7a;
    expect(text((await backend.list('k')).items[0]!.value)).toBe('abc');
  });

  it('watch delivers changes under the prefix after fromVersion, in order', async () => {
    backend = await open();
    await backend.put('p/1', bytes('before'));
    const abort = new AbortController();
    const events = collect(backend.watch('p/', backend.revision(), abort.signal), 4, abort);
    await backend.put('p/2', bytes('two'));
    await backend.put('q/1', bytes('elsewhere'));
    await backend.put('p/1', bytes('again'));
    await backend.delete('p/2');
    await backend.put('p/3', bytes('three'));
    const got = await events;
    abort.abort();
    expect(got.map((e) => [e.type, e.key, e.version - base])).toEqual([
      ['put', 'p/2', 2],
      ['put', 'p/1', 4],
      ['delete', 'p/2', 5],
      ['put', 'p/3', 6],
    ]);
    const first = got[0]!;
    expect(first.type === 'put' && text(first.value)).toBe('two');
  });

  it('watch from an older version replays recent changes first', async () => {
    backend = await open();
    await backend.put('p/1', bytes('a'));
    await backend.put('p/2', bytes('b'));
    const abort = new AbortController();
    const got = await collect(backend.watch('p/', base + 1, abort.signal), 1, abort);
    abort.abort();
    expect(got.map((e) => [e.key, e.version - base])).toEqual([['p/2', 2]]);
  });

  it('conditional writes apply only at the expected version and change nothing otherwise', async () => {
    backend = await open();
    const created = await backend.put('k/a', bytes('1'), { ifVersion: 0 });
    await expect(backend.put('k/a', bytes('2'), { ifVersion: 0 })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(backend.put('k/a', bytes('2'), { ifVersion: created + 5 })).rejects.toMatchObject({ code: 'CONFLICT' });
    const updated = await backend.put('k/a', bytes('2'), { ifVersion: created });
    expect(updated).toBeGreaterThan(created);
    await expect(backend.delete('k/a', { ifVersion: created })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await backend.list('k/')).items.map((i) => text(i.value))).toEqual(['2']);
    expect(backend.revision()).toBe(updated);
    await backend.delete('k/a', { ifVersion: updated });
    expect((await backend.list('k/')).items).toEqual([]);
  });

  it('of two racing conditional writes at one version exactly one wins', async () => {
    backend = await open();
    const base = await backend.put('k/race', bytes('0'));
    const results = await Promise.allSettled([backend.put('k/race', bytes('a'), { ifVersion: base }), backend.put('k/race', bytes('b'), { ifVersion: base })]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
  });

  it('concurrent puts get distinct, gap-free revisions', async () => {
    backend = await open();
    const b = backend;
    const revisions = await Promise.all(Array.from({ length: 50 }, (_, i) => b.put(`c/${i}`, bytes(String(i)))));
    expect([...revisions].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => base + i + 1));
    expect((await b.list('c/')).items).toHaveLength(50);
  });

  it('a watch ends when its signal aborts', async () => {
    backend = await open();
    const abort = new AbortController();
    const done = collect(backend.watch('', base, abort.signal), 10, abort);
    await backend.put('x', bytes('1'));
    abort.abort();
    expect((await done).length).toBeLessThanOrEqual(1);
  });

  it('rejects operations after close', async () => {
    const closing = await open();
    await closing.close();
    await expect(closing.put('k', bytes('v'))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});
