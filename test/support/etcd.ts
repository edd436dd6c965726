// Test support: real etcd (Debian etcd-server) on free loopback ports — one member or a cluster — with temp data dirs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { freePorts } from './ports.js';
import { spawnProcess, stopProcess, waitForHttp, type ManagedProcess } from './processes.js';

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  process: ManagedProcess | undefined;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** Comma-separated host:port of every member, for `--store etcd://...`. */
  readonly endpoints: string;
  /** Stops one member (SIGKILL by default) without touching its data. */
  stopMember(index: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped member again with its data. */
  startMember(index: number): Promise<void>;
  /** The index of the current leader among the members that are up, waiting (up to 15 s) for an election. */
  leaderIndex(): Promise<number>;
  close(): Promise<void>;
}

/** The etcd binary, installing etcd-server when root; undefined (after a loud notice) when missing outside CI. */
export function requireEtcd(): Promise<string | undefined> {
  return requireBinary('etcd', { aptPackage: 'etcd-server', purpose: 'the etcd registry backend tests' });
}

/** Starts an etcd cluster of `size` members on 127.0.0.1 and waits until it is healthy. */
export async function startEtcd(binary: string, size = 1): Promise<EtcdCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-etcd-'));
  const ports = await freePorts(size * 2);
  const members: EtcdMember[] = Array.from({ length: size }, (_, i) => ({
    name: `m${i}`,
    clientUrl: `http://127.0.0.1:${ports[i * 2]}`,
    peerUrl: `http://127.0.0.1:${ports[i * 2 + 1]}`,
    process: undefined,
  }));
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');

  const launch = (member: EtcdMember): void => {
    member.process = spawnProcess(
      binary,
      [
        '--name', member.name,
        '--data-dir', join(dir, member.name),
        '--listen-client-urls', member.clientUrl,
        '--advertise-client-urls', member.clientUrl,
        '--listen-peer-urls', member.peerUrl,
        '--initial-advertise-peer-urls', member.peerUrl,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', `weft-test-${ports[0]}`,
        '--logger', 'zap',
        '--log-level', 'error',
        // Fast elections keep leader-loss tests short on loopback.
        '--heartbeat-interval', '50',
        '--election-timeout', '500',
      ],
      { name: `etcd ${member.name}` },
    );
  };
  const healthy = (member: EtcdMember) => waitForHttp(`${member.clientUrl}/health`, 20_000, { process: member.process });

  const askLeader = async (): Promise<number | undefined> => {
    for (const member of members) {
      if (!member.process) continue;
      try {
        const reply = await fetch(`${member.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2_000) });
        const status = (await reply.json()) as { leader?: string };
        if (status.leader === undefined) continue;
        const list = await fetch(`${member.clientUrl}/v3/cluster/member/list`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2_000) });
        const body = (await list.json()) as { members?: { ID?: string; name?: string }[] };
        const leader = body.members?.find((m) => m.ID === status.leader);
        const index = members.findIndex((m) => m.name === leader?.name);
        if (index >= 0 && members[index]!.process) return index;
      } catch {
        // Ask the next member.
      }
    }
    return undefined;
  };

  for (const member of members) launch(member);
  try {
    await Promise.all(members.map(healthy));
  } catch (error) {
    await Promise.all(members.map((m) => (m.process ? stopProcess(m.process, 'SIGKILL', 1_000) : undefined)));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    members,
    endpoints: members.map((m) => m.clientUrl.replace('http://', '')).join(','),
    async stopMember(index, signal = 'SIGKILL') {
      const member = members[index]!;
      if (member.process) await stopProcess(member.process, signal, 5_000);
      member.process = undefined;
    },
    async startMember(index) {
      const member = members[index]!;
      launch(member);
      await healthy(member);
    },
    async leaderIndex() {
      const until = Date.now() + 15_000;
      for (;;) {
        const index = await askLeader();
        if (index !== undefined) return index;
        if (Date.now() > until) throw new Error('no running etcd member is leader after 15 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async close() {
      await Promise.all(members.map((m) => (m.process ? stopProcess(m.process, 'SIGTERM', 5_000) : undefined)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
