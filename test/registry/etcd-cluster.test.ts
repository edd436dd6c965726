// Registry on a 3-member etcd cluster: registrations and watches go on when a follower or the leader stops; nothing acknowledged is lost.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEtcdBackend, parseEtcdUrl, Registry } from '../../src/registry/index.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { requireEtcd, startEtcd, type EtcdCluster } from '../support/index.js';

const etcdBinary = await requireEtcd();
const runtime = () => createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) });

describe.skipIf(etcdBinary === undefined)('registry on a 3-member etcd cluster', () => {
  let etcd: EtcdCluster;
  let registry: Registry;
  let observer: Registry;
  const acknowledged = new Set<string>();
  const seen = new Set<string>();

  beforeAll(async () => {
    etcd = await startEtcd(etcdBinary!, 3);
    const url = `etcd://${etcd.endpoints}/ha/`;
    registry = await Registry.open(await openEtcdBackend(parseEtcdUrl(url), runtime()), runtime());
    observer = await Registry.open(await openEtcdBackend(parseEtcdUrl(url), runtime()), runtime());
    observer.watch(observer.version(), (event) => {
      if (event.type === 'upsert') seen.add(event.instance.id);
    });
  }, 30_000);

  afterAll(async () => {
    await registry?.close();
    await observer?.close();
    await etcd?.close();
  });

  /** Registers `count` instances one after another, retrying each (bounded) while etcd elects; records what was acknowledged. */
  async function registerMany(tag: string, count: number): Promise<{ retries: number }> {
    let retries = 0;
    for (let i = 0; i < count; i++) {
      const id = `${tag}-${i}`;
      for (let attempt = 0; ; attempt++) {
        try {
          await registry.register({ id, service: 'greeter', host: '127.0.0.1', port: 9000 + i, ttlMs: 60_000 });
          acknowledged.add(id);
          break;
        } catch (error) {
          if (attempt >= 40) throw error;
          retries++;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    }
    return { retries };
  }

  it('goes on when a follower stops', async () => {
    const leader = await etcd.leaderIndex();
    const follower = (leader + 1) % 3;
    await registerMany('before', 20);
    await etcd.stopMember(follower);
    const { retries } = await registerMany('follower-down', 50);
    expect(retries).toBeLessThanOrEqual(5);
    await etcd.startMember(follower);
  }, 60_000);

  it('goes on after an election when the leader stops', async () => {
    const leader = await etcd.leaderIndex();
    const writes = registerMany('leader-down', 100);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await etcd.stopMember(leader);
    await writes;
    expect(await etcd.leaderIndex()).not.toBe(leader);
    await etcd.startMember(leader);
  }, 90_000);

  it('lost no acknowledged registration, and every watcher saw them all', async () => {
    const fresh = await Registry.open(await openEtcdBackend(parseEtcdUrl(`etcd://${etcd.endpoints}/ha/`), runtime()), runtime());
    try {
      const stored = new Set(fresh.all().map((i) => i.id));
      const missing = [...acknowledged].filter((id) => !stored.has(id));
      expect(missing).toEqual([]);
      expect(acknowledged.size).toBe(170);
      await expect.poll(() => [...acknowledged].filter((id) => !seen.has(id)), { timeout: 10_000 }).toEqual([]);
    } finally {
      await fresh.close();
    }
  }, 30_000);
});
