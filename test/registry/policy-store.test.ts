// Registry: service policies stored under policies/ on every backend — validation, versions shared with instances, watch events, reloads.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WatchEvent } from '../../src/model/index.js';
import { EmbeddedBackend, MemoryBackend, openEtcdBackend, parseEtcdUrl, POLICY_PREFIX, Registry, type RegistryBackend } from '../../src/registry/index.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { requireEtcd, startEtcd, type EtcdCluster } from '../support/index.js';

const etcdBinary = await requireEtcd();
const runtime = () => createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) });
const wait = { timeout: 15_000, interval: 20 };
const instance = (id: string) => ({ id, service: 'greeter', host: '127.0.0.1', port: 9000, ttlMs: 60_000 });

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(backend: RegistryBackend): Promise<Registry> {
  const registry = await Registry.open(backend, runtime(), { sweepIntervalMs: 3_600_000 });
  cleanups.push(async () => {
    await registry.close();
    await backend.close();
  });
  return registry;
}

interface Store {
  name: string;
  skip: boolean;
  /** A backend on the store; a second call with the same location reopens the same data (or, on etcd, a second client). */
  backend(location: string): Promise<RegistryBackend>;
  location(): Promise<string>;
}

let etcd: EtcdCluster | undefined;
let prefixes = 0;
const stores: Store[] = [
  { name: 'memory', skip: false, backend: async () => new MemoryBackend(), location: async () => '' },
  {
    name: 'embedded',
    skip: false,
    backend: (dir) => EmbeddedBackend.open(dir, runtime()),
    location: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'weft-policy-'));
      cleanups.unshift(() => rm(dir, { recursive: true, force: true }));
      return dir;
    },
  },
  {
    name: 'etcd',
    skip: etcdBinary === undefined,
    backend: (url) => openEtcdBackend(parseEtcdUrl(url), runtime()),
    location: async () => `etcd://${etcd!.endpoints}/policies-${++prefixes}/`,
  },
];

beforeAll(async () => {
  if (etcdBinary) etcd = await startEtcd(etcdBinary);
}, 30_000);
afterAll(async () => {
  await etcd?.close();
});

describe.each(stores)('policies on the $name store', (store) => {
  it.skipIf(store.skip)('stores, reads, lists and deletes a policy in the instances\' version sequence', async () => {
    const registry = await open(await store.backend(await store.location()));
    const registered = await registry.register(instance('g-1'));
    const put = await registry.putPolicy({ service: 'greeter', loadBalancer: { algorithm: 'p2c-ewma' } });
    expect(put.changed).toBe(true);
    expect(put.version).toBeGreaterThan(registered.version);
    expect(put.policy).toMatchObject({ kind: 'ServicePolicy', service: 'greeter', loadBalancer: { algorithm: 'p2c-ewma' }, retry: { attempts: 3 } });
    expect(registry.version()).toBe(put.version);
    expect(registry.policy('greeter')).toEqual(put.policy);

    // The same policy again, even written differently, changes nothing and writes nothing.
    const again = await registry.putPolicy({ kind: 'ServicePolicy', service: 'greeter', loadBalancer: { algorithm: 'p2c-ewma' }, retry: { attempts: 3 } });
    expect(again).toMatchObject({ changed: false, version: put.version });

    await registry.putPolicy({ service: 'billing' });
    expect(registry.policies().map((p) => p.service)).toEqual(['billing', 'greeter']);
    // Instances are untouched by policies, and the other way round.
    expect(registry.all().map((i) => i.id)).toEqual(['g-1']);

    const removed = await registry.deletePolicy('greeter');
    expect(removed.version).toBeGreaterThan(put.version);
    expect(registry.policy('greeter')).toBeUndefined();
    await expect(registry.deletePolicy('greeter')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it.skipIf(store.skip)('rejects invalid policies with the field path and stores nothing', async () => {
    const registry = await open(await store.backend(await store.location()));
    // etcd revisions are cluster-wide, so a fresh prefix need not start at 0.
    const before = registry.version();
    await expect(registry.putPolicy({ service: 'greeter', retry: { budget: { ratio: 2 } } })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'retry.budget.ratio',
      message: 'retry.budget.ratio: expected a number from 0 to 1',
    });
    await expect(registry.putPolicy({ service: 'greeter', colour: 'blue' })).rejects.toMatchObject({ field: 'colour', message: 'colour: unknown field' });
    await expect(registry.putPolicy({ service: 'billing' }, 'greeter')).rejects.toMatchObject({ field: 'service' });
    await expect(registry.putPolicy(undefined, 'greeter')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(registry.policies()).toEqual([]);
    expect(registry.version()).toBe(before);
    // The service in the path fills in a body without one.
    expect((await registry.putPolicy({ timeout: { requestMs: 900 } }, 'greeter')).policy.service).toBe('greeter');
  });

  it.skipIf(store.skip)('streams policy events, includes policies in resets, and resumes between them', async () => {
    const registry = await open(await store.backend(await store.location()));
    await registry.register(instance('g-1'));
    const first = await registry.putPolicy({ service: 'greeter' });
    const seen: WatchEvent[] = [];
    const sub = registry.watch(undefined, (event) => seen.push(event));
    cleanups.push(async () => sub.unsubscribe());
    expect(sub.initial).toEqual([{ type: 'reset', version: first.version, instances: [expect.objectContaining({ id: 'g-1' })], policies: [first.policy], kindPolicies: [] }]);

    const second = await registry.putPolicy({ service: 'greeter', retry: { attempts: 2 } });
    await registry.register(instance('g-2'));
    const gone = await registry.deletePolicy('greeter');
    await expect.poll(() => seen.length, wait).toBe(3);
    expect(seen[0]).toEqual({ type: 'policy', version: second.version, policy: second.policy });
    expect(seen[1]).toMatchObject({ type: 'upsert', instance: { id: 'g-2' } });
    expect(seen[2]).toEqual({ type: 'policy-remove', version: gone.version, service: 'greeter' });

    // Resuming from between the changes gets exactly the missed ones, policies included.
    expect(registry.watch(first.version, () => undefined).initial.map((e) => e.type)).toEqual(['policy', 'upsert', 'policy-remove']);
    expect(registry.watch(second.version, () => undefined).initial.map((e) => e.type)).toEqual(['upsert', 'policy-remove']);
  });

  it.skipIf(store.skip)('stores AuthorizationPolicies under their own prefix beside the ServicePolicy of the same service, and streams them', async () => {
    const registry = await open(await store.backend(await store.location()));
    const service = await registry.putPolicy({ service: 'greeter' });
    const seen: WatchEvent[] = [];
    const sub = registry.watch(undefined, (event) => seen.push(event));
    cleanups.push(async () => sub.unsubscribe());
    const put = await registry.putKindPolicy('AuthorizationPolicy', { rules: [{ from: { services: ['web'] } }] }, 'greeter');
    expect(put).toMatchObject({ changed: true, policy: { kind: 'AuthorizationPolicy', service: 'greeter', default: 'deny', allowUnauthenticatedSources: false } });
    expect(put.version).toBeGreaterThan(service.version);
    expect(await registry.putKindPolicy('AuthorizationPolicy', { kind: 'AuthorizationPolicy', service: 'greeter', default: 'deny', rules: [{ from: { services: ['web'] } }] }, 'greeter')).toMatchObject({
      changed: false,
      version: put.version,
    });
    await expect(registry.putKindPolicy('AuthorizationPolicy', { kind: 'ServicePolicy' }, 'greeter')).rejects.toMatchObject({ field: 'kind' });
    await expect(registry.putKindPolicy('AuthorizationPolicy', { rules: [{ action: 'maybe' }] }, 'greeter')).rejects.toMatchObject({ field: 'rules[0].action' });
    expect(registry.kindPolicy('AuthorizationPolicy', 'greeter')).toEqual(put.policy);
    expect(registry.policy('greeter')).toEqual(service.policy);
    expect(registry.kindPolicies().map((p) => [p.kind, p.service])).toEqual([['AuthorizationPolicy', 'greeter']]);
    expect(registry.watch(undefined, () => undefined).initial[0]).toMatchObject({ type: 'reset', policies: [service.policy], kindPolicies: [put.policy] });

    const gone = await registry.deleteKindPolicy('AuthorizationPolicy', 'greeter');
    await expect(registry.deleteKindPolicy('AuthorizationPolicy', 'greeter')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(registry.policy('greeter')).toEqual(service.policy);
    await expect.poll(() => seen.length, wait).toBe(2);
    expect(seen).toEqual([
      { type: 'kind-policy', version: put.version, policy: put.policy },
      { type: 'kind-policy-remove', version: gone.version, kind: 'AuthorizationPolicy', service: 'greeter' },
    ]);
  });

  // Only durable stores can be reopened; the memory store has nothing to keep.
  if (store.name !== 'memory') {
    it.skipIf(store.skip)('keeps AuthorizationPolicies across a reopen of the store', async () => {
      const location = await store.location();
      const backend = await store.backend(location);
      const first = await Registry.open(backend, runtime(), { sweepIntervalMs: 3_600_000 });
      await first.putKindPolicy('AuthorizationPolicy', { default: 'allow' }, 'greeter');
      await first.putKindPolicy('AuthorizationPolicy', {}, 'billing');
      await first.deleteKindPolicy('AuthorizationPolicy', 'billing');
      await first.close();
      await backend.close();

      const reopened = await open(await store.backend(location));
      expect(reopened.kindPolicies('AuthorizationPolicy')).toEqual([{ kind: 'AuthorizationPolicy', service: 'greeter', default: 'allow', allowUnauthenticatedSources: false, rules: [] }]);
    });

    it.skipIf(store.skip)('keeps policies across a reopen of the store', async () => {
      const location = await store.location();
      const backend = await store.backend(location);
      const first = await Registry.open(backend, runtime(), { sweepIntervalMs: 3_600_000 });
      await first.putPolicy({ service: 'greeter', loadBalancer: { algorithm: 'random' } });
      await first.putPolicy({ service: 'billing' });
      await first.deletePolicy('billing');
      await first.close();
      await backend.close();

      const reopened = await open(await store.backend(location));
      expect(reopened.policies().map((p) => [p.service, p.loadBalancer.algorithm])).toEqual([['greeter', 'random']]);
      expect(reopened.watch(undefined, () => undefined).initial[0]).toMatchObject({ type: 'reset', policies: [{ service: 'greeter' }] });
    });
  }
});

describe('policies written by another writer of the store', () => {
  it('follows policy changes that arrive through the backend watch, in version order with instances', async () => {
    const backend = new MemoryBackend();
    const registry = await open(backend);
    const seen: WatchEvent[] = [];
    const sub = registry.watch(registry.version(), (event) => seen.push(event));
    cleanups.push(async () => sub.unsubscribe());
    const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    await backend.put(`${POLICY_PREFIX}greeter`, bytes({ service: 'greeter', loadBalancer: { algorithm: 'random' } }));
    await backend.put(`${POLICY_PREFIX}broken`, bytes({ service: 'broken', nonsense: true }));
    await backend.put('instances/g-1', bytes({ ...instance('g-1'), weight: 1, meta: {}, tags: [], health: 'passing' }));
    await backend.delete(`${POLICY_PREFIX}greeter`);
    await expect.poll(() => registry.version(), wait).toBe(4);
    expect(seen.map((e) => [e.type, e.version])).toEqual([
      ['policy', 1],
      ['upsert', 3],
      ['policy-remove', 4],
    ]);
    expect(registry.policies()).toEqual([]);
  });
});

describe.skipIf(etcdBinary === undefined)('policies shared by two control planes on etcd', () => {
  it('a policy stored through one registry reaches the other with the same version', async () => {
    const url = `etcd://${etcd!.endpoints}/shared-${++prefixes}/`;
    const a = await open(await openEtcdBackend(parseEtcdUrl(url), runtime()));
    const b = await open(await openEtcdBackend(parseEtcdUrl(url), runtime()));
    const put = await a.putPolicy({ service: 'greeter', timeout: { requestMs: 1234 } });
    await expect.poll(() => b.policy('greeter')?.timeout.requestMs, wait).toBe(1234);
    expect(b.version()).toBeGreaterThanOrEqual(put.version);
    await b.deletePolicy('greeter');
    await expect.poll(() => a.policy('greeter'), wait).toBeUndefined();
  });
});
