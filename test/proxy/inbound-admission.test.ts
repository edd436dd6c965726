// Proxy: the inbound side's admission checks on real sockets — 403 FORBIDDEN by caller, path, method and header, live policy changes, 429 RATE_LIMITED with Retry-After, metrics and access-log flags.
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, seededRng, systemClock, type Runtime } from '../../src/core/index.js';
import {
  kindPolicyMaps,
  parseKindPolicy,
  parsePolicy,
  snapshotFromInstances,
  type AuthorizationPolicyInput,
  type ServicePolicyInput,
} from '../../src/model/index.js';
import type { PeerIdentifier } from '../../src/security/authz/index.js';
import { SnapshotChannel } from '../../src/resolve/snapshot-channel.js';
import { createInboundServer } from '../../src/proxy/index.js';
import { InboundAdmission } from '../../src/inbound/index.js';
import { createAccessLog, type AccessRecord } from '../../src/telemetry/index.js';
import { quietRuntime, send, startServer, until } from './request-path-fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

type PolicyChange = { authz?: Omit<AuthorizationPolicyInput, 'service'>; service?: Omit<ServicePolicyInput, 'service'> };

/** Publishes a snapshot holding service "api"'s policies as given (none when left out). */
function publishPolicies(channel: SnapshotChannel, { authz, service }: PolicyChange): void {
  const servicePolicies = new Map(service ? [['api', parsePolicy({ service: 'api', ...service })]] : []);
  const kinds = kindPolicyMaps(authz ? [parseKindPolicy('AuthorizationPolicy', { service: 'api', ...authz })] : []);
  channel.publish(snapshotFromInstances(channel.current().version + 1, [], servicePolicies, kinds));
}

async function mesh(runtime: Runtime = quietRuntime(), peers?: PeerIdentifier) {
  let reached = 0;
  const app = await startServer((req, res) => {
    reached++;
    req.resume();
    res.end(`app saw ${req.method} ${req.url}`);
  });
  cleanups.push(() => app.close());
  const channel = new SnapshotChannel();
  const snapshots = { set: (change: PolicyChange) => publishPolicies(channel, change) };
  const records: AccessRecord[] = [];
  const accessLog = createAccessLog({ sample: 1, rng: seededRng(1), clock: systemClock, forward: (r) => records.push(r) })!;
  cleanups.push(() => accessLog.close());
  const admission = new InboundAdmission({ service: 'api', snapshots: channel, clock: runtime.clock });
  const server = createInboundServer({ runtime, appPort: app.port, service: 'api', accessLog, admission, ...(peers ? { peers } : {}) });
  const { port } = await server.listen('127.0.0.1', 0);
  cleanups.push(() => server.close(0));
  const call = (from: string | undefined, options: { path?: string; method?: string; headers?: Record<string, string> } = {}) =>
    send(port, { ...options, host: 'api', headers: { ...(from ? { 'x-weft-source': from } : {}), ...options.headers } });
  return { snapshots, call, runtime, records, reached: () => reached };
}

async function metricValue(runtime: Runtime, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await runtime.metrics.getSingleMetric(name)?.get();
  const found = metric?.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value));
  return found?.value ?? 0;
}

describe('inbound admission', () => {
  it('lets everything through while the service has no policy', async () => {
    const { call } = await mesh();
    expect((await call('web', { method: 'DELETE', path: '/anything' })).status).toBe(200);
    expect((await call(undefined)).status).toBe(200);
  });

  it('answers 403 FORBIDDEN before the app, by caller, path, method and header, and counts and logs it', async () => {
    const { snapshots, call, runtime, records, reached } = await mesh();
    snapshots.set({
      authz: {
        default: 'deny',
        allowUnauthenticatedSources: true,
        rules: [{ from: { services: ['frontend'] }, to: { methods: ['GET'], pathPrefix: '/public', headers: { 'x-env': 'prod' } } }],
      },
    });
    const prod = { 'x-env': 'prod' };
    const allowed = await call('frontend', { path: '/public/page', headers: prod });
    expect(allowed).toMatchObject({ status: 200, body: 'app saw GET /public/page' });
    const cases = [
      ['another caller', 'web', 'GET', '/public/page', prod],
      ['no caller', undefined, 'GET', '/public/page', prod],
      ['another path', 'frontend', 'GET', '/private', prod],
      ['another method', 'frontend', 'POST', '/public/page', prod],
      ['another header value', 'frontend', 'GET', '/public/page', { 'x-env': 'dev' }],
      ['no header', 'frontend', 'GET', '/public/page', {}],
    ] as const;
    for (const [what, from, method, path, headers] of cases) {
      const reply = await call(from, { method, path, headers });
      expect(reply.status, what).toBe(403);
      expect(reply.headers['x-weft-error'], what).toBe('FORBIDDEN');
      expect(JSON.parse(reply.body), what).toMatchObject({ code: 'FORBIDDEN', service: 'api' });
    }
    expect(reached()).toBe(1);
    expect(await metricValue(runtime, 'weft_proxy_authz_denied_total', { destination: 'api', source: 'web' })).toBe(1);
    expect(await metricValue(runtime, 'weft_proxy_authz_denied_total', { destination: 'api', source: 'frontend' })).toBe(4);
    await until(() => records.length === cases.length + 1);
    expect(records.filter((r) => r.response_flags === 'FORBIDDEN' && r.status === 403)).toHaveLength(cases.length);
    expect(records.find((r) => r.source === 'web')).toMatchObject({ status: 403, response_flags: 'FORBIDDEN', destination: 'api', attempts: 0 });
  });

  it('does not believe a claimed service name unless the policy says so', async () => {
    const { snapshots, call } = await mesh();
    snapshots.set({ authz: { rules: [{ from: { services: ['frontend'] } }] } });
    expect((await call('frontend')).status).toBe(403);
    snapshots.set({ authz: { allowUnauthenticatedSources: true, rules: [{ from: { services: ['frontend'] } }] } });
    expect((await call('frontend')).status).toBe(200);
  });

  it('believes a proven identity from its PeerIdentifier, where mTLS will plug in', async () => {
    // Stands in for a certificate check: the connection, not the header, says who calls.
    const proven: PeerIdentifier = { identify: () => ({ service: 'frontend', spiffeId: 'spiffe://weft.local/service/frontend', authenticated: true }) };
    const { snapshots, call } = await mesh(quietRuntime(), proven);
    snapshots.set({ authz: { rules: [{ from: { services: ['frontend'] }, to: { pathPrefix: '/a' } }, { from: { identities: ['spiffe://weft.local/service/frontend'] }, to: { pathPrefix: '/b' } }] } });
    expect((await call(undefined, { path: '/a' })).status).toBe(200);
    expect((await call('web', { path: '/b' })).status).toBe(200);
    expect((await call(undefined, { path: '/c' })).status).toBe(403);
  });

  it('takes a policy change (default, deny rule, removal) on the next request', async () => {
    const { snapshots, call } = await mesh();
    snapshots.set({ authz: { default: 'allow' } });
    expect((await call('web')).status).toBe(200);
    snapshots.set({ authz: { default: 'allow', rules: [{ from: { services: ['web'] }, action: 'deny' }] } });
    expect((await call('web')).status).toBe(403);
    expect((await call('batch')).status).toBe(200);
    snapshots.set({ authz: { default: 'deny' } });
    expect((await call('batch')).status).toBe(403);
    snapshots.set({});
    expect((await call('batch')).status).toBe(200);
  });

  it('answers 429 RATE_LIMITED with Retry-After past the burst, per source when asked, and refills with time', async () => {
    const clock = new ManualClock(10_000);
    const { snapshots, call, runtime, records, reached } = await mesh({ ...quietRuntime(), clock });
    snapshots.set({ service: { rateLimits: [{ match: { pathPrefix: '/api' }, perSource: true, requestsPerSecond: 0.25, burst: 3 }] } });
    const statuses: number[] = [];
    const retryAfter: (string | undefined)[] = [];
    for (let i = 0; i < 5; i++) {
      const reply = await call('web', { path: '/api/items' });
      statuses.push(reply.status);
      retryAfter.push(reply.headers['retry-after']);
      if (reply.status === 429) expect(reply.headers['x-weft-error']).toBe('RATE_LIMITED');
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    // One token every 4 s.
    expect(retryAfter.slice(3)).toEqual(['4', '4']);
    // Another source has its own bucket; a path outside the rule is not limited.
    expect((await call('batch', { path: '/api/items' })).status).toBe(200);
    expect((await call('web', { path: '/health' })).status).toBe(200);
    clock.advance(1_500);
    const later = await call('web', { path: '/api/items' });
    expect(later.status).toBe(429);
    expect(later.headers['retry-after']).toBe('3');
    clock.advance(2_500);
    expect((await call('web', { path: '/api/items' })).status).toBe(200);
    expect(reached()).toBe(6);
    expect(await metricValue(runtime, 'weft_proxy_rate_limited_total', { destination: 'api', source: 'web' })).toBe(3);
    await until(() => records.length === 9);
    expect(records.filter((r) => r.response_flags === 'RATE_LIMITED')).toHaveLength(3);
  });

  it('keeps the buckets through a policy change that leaves the limits alone', async () => {
    const clock = new ManualClock();
    const { snapshots, call } = await mesh({ ...quietRuntime(), clock });
    snapshots.set({ service: { rateLimits: [{ requestsPerSecond: 1, burst: 1 }] } });
    expect((await call('web')).status).toBe(200);
    snapshots.set({ service: { timeout: { requestMs: 1_000 }, rateLimits: [{ requestsPerSecond: 1, burst: 1 }] } });
    expect((await call('web')).status).toBe(429);
    snapshots.set({ service: { rateLimits: [{ requestsPerSecond: 1, burst: 2 }] } });
    expect((await call('web')).status).toBe(200);
  });
});
