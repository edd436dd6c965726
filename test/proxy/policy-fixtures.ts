// Test fixtures for service policies on the outbound path: a snapshot source with policies, counting upstreams, a keep-alive client.
import http from 'node:http';
import { parsePolicy, snapshotFromInstances, type Instance, type ServicePolicy, type ServicePolicyInput, type Snapshot, type SnapshotSource } from '../../src/model/index.js';
import { afterEach } from 'vitest';
import { createOutboundServer, type OutboundServerOptions } from '../../src/proxy/outbound-server.js';
import { quietRuntime, startServer, type TestServer } from './request-path-fixtures.js';

export interface PolicySnapshots extends SnapshotSource {
  setInstances(instances: Instance[]): void;
  /** Replaces the service's policy (a new object), or removes it with null. */
  setPolicy(service: string, policy: Omit<ServicePolicyInput, 'service'> | null): void;
}

export function policySnapshots(instances: Instance[], policies: Record<string, Omit<ServicePolicyInput, 'service'>> = {}): PolicySnapshots {
  let version = 1;
  let current: Instance[] = instances;
  let byService = new Map<string, ServicePolicy>(Object.entries(policies).map(([service, p]) => [service, parsePolicy({ ...p, service })]));
  let snapshot: Snapshot = snapshotFromInstances(version, current, byService);
  const listeners = new Set<(s: Snapshot) => void>();
  const publish = (): void => {
    snapshot = snapshotFromInstances(++version, current, byService);
    for (const listener of [...listeners]) listener(snapshot);
  };
  return {
    current: () => snapshot,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setInstances(next) {
      current = next;
      publish();
    },
    setPolicy(service, policy) {
      byService = new Map(byService);
      if (policy === null) byService.delete(service);
      else byService.set(service, parsePolicy({ ...policy, service }));
      publish();
    },
  };
}

export interface CountingUpstream extends TestServer {
  readonly name: string;
  hits: number;
  /** Request headers of every request, in arrival order. */
  readonly seen: http.IncomingHttpHeaders[];
  /** What the next requests get; replace to change behaviour. */
  behaviour: { status: number; delayMs: number };
  /** Status of GET /healthz. */
  health: number;
}

/** An upstream that answers `behaviour.status` with its name after `behaviour.delayMs`, counting requests (health probes apart). */
export async function countingUpstream(name: string, status = 200, delayMs = 0): Promise<CountingUpstream> {
  const state = { hits: 0, seen: [] as http.IncomingHttpHeaders[], behaviour: { status, delayMs }, health: 200 };
  const server = await startServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(state.health).end();
      return;
    }
    state.hits++;
    state.seen.push(req.headers);
    req.resume();
    const { status: code, delayMs: delay } = state.behaviour;
    const answer = (): void => {
      if (!res.destroyed) res.writeHead(code, { 'content-type': 'text/plain', 'x-upstream': name }).end(name);
    };
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
  return Object.assign(state, server, { name }) as CountingUpstream;
}

/** Runs `count` calls with at most `concurrency` at once; returns their results in call order. */
export async function runConcurrently<T>(count: number, concurrency: number, call: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) {
      const i = next++;
      results[i] = await call(i);
    }
  });
  await Promise.all(workers);
  return results;
}

/** The servers, sidecar and agents of one policy test file, all closed after each test. */
export function policyHarness(): {
  upstreams(...specs: [name: string, status?: number, delayMs?: number][]): Promise<CountingUpstream[]>;
  outbound(options: Omit<OutboundServerOptions, 'runtime'> & { runtime?: OutboundServerOptions['runtime'] }): Promise<number>;
  keepAlive(): http.Agent;
} {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });
  return {
    async upstreams(...specs) {
      const servers = await Promise.all(specs.map(([name, status, delayMs]) => countingUpstream(name, status, delayMs)));
      for (const s of servers) cleanups.push(() => s.close());
      return servers;
    },
    async outbound(options) {
      const proxy = createOutboundServer({ runtime: quietRuntime(), ...options });
      const { port } = await proxy.listen('127.0.0.1', 0);
      cleanups.push(() => proxy.close(0));
      return port;
    },
    keepAlive() {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
      cleanups.push(async () => agent.destroy());
      return agent;
    },
  };
}
