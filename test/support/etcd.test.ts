// Test support: the etcd launcher starts a real cluster and follows its leader across a member kill.
import { describe, expect, it } from 'vitest';
import { requireEtcd, startEtcd } from './index.js';

const etcd = await requireEtcd();

describe.skipIf(etcd === undefined)('etcd test cluster', () => {
  it('starts three members and elects a new leader when the leader is killed', async () => {
    const cluster = await startEtcd(etcd!, 3);
    try {
      const leader = await cluster.leaderIndex();
      await cluster.stopMember(leader);
      const next = await cluster.leaderIndex();
      expect(next).not.toBe(leader);
      await cluster.startMember(leader);
      expect(cluster.endpoints.split(',')).toHaveLength(3);
    } finally {
      await cluster.close();
    }
  }, 60_000);
});
