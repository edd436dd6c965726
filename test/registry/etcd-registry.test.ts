// Registry on etcd: two registries (as two control planes) share one view, TTLs are etcd leases any of them renews.
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openEtcdBackend, parseEtcdUrl, Registry, TTL_EXPIRED } from '../../src/registry/index.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { requireEtcd, startEtcd, type EtcdCluster } from '../support/index.js';

const etcdBinary = await requireEtcd();
const runtime = () => createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) });
const wait = { timeout: 15_000, interval: 50 };

describe.skipIf(etcdBinary === undefined)('registry on etcd', () => {
  let etcd: EtcdCluster;
  let prefixes = 0;
  const open: Registry[] = [];

  beforeAll(async () => {
    etcd = await startEtcd(etcdBinary!);
  }, 30_000);
  afterAll(async () => {
    await etcd?.close();
  });
  afterEach(async () => {
    for (const registry of open.splice(0)) await registry.close();
  });

  const store = () => `etcd://${etcd.endpoints}/registry-${++prefixes}/`;
  const openRegistry = async (url: string, options = {}) => {
    const registry = await Registry.open(await openEtcdBackend(parseEtcdUrl(url), runtime()), runtime(), { sweepIntervalMs: 50, ...options });
    open.push(registry);
    return registry;
  };
  const reg = (id: string, ttlMs = 2_000) => ({ id, service: 'greeter', host: '127.0.0.1', port: 9000, ttlMs });

  it('serves one view from two control planes, with the same versions and store id', async () => {
    const url = store();
    const a = await openRegistry(url);
    const b = await openRegistry(url);
    expect(b.storeId()).toBe(a.storeId());
    const { version } = await a.register(reg('g1', 60_000));
    await expect.poll(() => b.get('g1')?.service, wait).toBe('greeter');
    expect(b.version()).toBeGreaterThanOrEqual(version);
    await b.deregister('g1');
    await expect.poll(() => a.get('g1'), wait).toBeUndefined();
  });

  it('keeps an instance alive through heartbeats to the other control plane after the first one is gone', async () => {
    const url = store();
    const a = await openRegistry(url);
    const b = await openRegistry(url);
    await a.register(reg('g1'));
    await a.close();
    open.splice(open.indexOf(a), 1);
    // Heartbeats to b alone, well past the 2 s lease that a granted.
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      await b.heartbeat('g1', {});
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(b.get('g1')?.health).toBe('passing');
  });

  it('marks a silent instance critical when its lease runs out, then removes it, exactly once across control planes', async () => {
    const url = store();
    const a = await openRegistry(url, { criticalRemoveAfterMs: 1_000 });
    const b = await openRegistry(url, { criticalRemoveAfterMs: 1_000 });
    const events: string[] = [];
    const sub = b.watch(b.version(), (event) => {
      if (event.type === 'upsert') events.push(`upsert:${event.instance.health}`);
      if (event.type === 'remove') events.push('remove');
    });
    await a.register(reg('g1'));
    await expect.poll(() => b.get('g1')?.healthReason, wait).toBe(TTL_EXPIRED);
    await expect.poll(() => b.get('g1'), wait).toBeUndefined();
    sub.unsubscribe();
    expect(events).toEqual(['upsert:passing', 'upsert:critical', 'remove']);
  });

  it('brings a critical instance back to passing with a heartbeat after its lease ran out', async () => {
    const a = await openRegistry(store(), { criticalRemoveAfterMs: 60_000 });
    await a.register(reg('g1'));
    await expect.poll(() => a.get('g1')?.health, wait).toBe('critical');
    await a.heartbeat('g1', {});
    expect(a.get('g1')?.health).toBe('passing');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(a.get('g1')?.health).toBe('passing');
  });
});
