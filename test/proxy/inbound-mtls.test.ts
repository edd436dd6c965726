// Proxy: the inbound side behind mTLS on real sockets — a caller proven by its certificate passes `from.services` without allowUnauthenticatedSources, and is the source of metrics, logs and per-source limits.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seededRng, systemClock } from '../../src/core/index.js';
import { kindPolicyMaps, parseKindPolicy, parsePolicy, snapshotFromInstances, type Instance } from '../../src/model/index.js';
import { MeshTls } from '../../src/security/tls/index.js';
import { createInboundServer, createOutboundServer } from '../../src/proxy/index.js';
import { InboundAdmission } from '../../src/inbound/index.js';
import { SnapshotChannel } from '../../src/resolve/snapshot-channel.js';
import { MtlsPeers } from '../../src/security/authz/index.js';
import { formatSpiffeId, spiffeId } from '../../src/security/identity.js';
import { WorkloadIdentity } from '../../src/security/tls/index.js';
import { createAccessLog, type AccessRecord } from '../../src/telemetry/index.js';
import { createRoot, issueLeaf, materialOf } from '../security/tls/test-pki.js';
import { instance, quietRuntime, send, snapshotsOf, startServer, until } from './request-path-fixtures.js';

const id = (service: string): string => formatSpiffeId(spiffeId('weft.test', service));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

let api: WorkloadIdentity;
let frontend: WorkloadIdentity;
beforeAll(async () => {
  const root = await createRoot('root');
  api = new WorkloadIdentity(materialOf(await issueLeaf(root, id('api')), root));
  frontend = new WorkloadIdentity(materialOf(await issueLeaf(root, id('frontend')), root));
});

/** Service "api" behind an inbound server in `permissive` mode, with an AuthorizationPolicy admitting frontend (proven callers only) and per-source limits. */
async function apiSidecar() {
  const app = await startServer((req, res) => {
    req.resume();
    res.end('app');
  });
  cleanups.push(() => app.close());
  const runtime = quietRuntime();
  const channel = new SnapshotChannel();
  const authz = parseKindPolicy('AuthorizationPolicy', { service: 'api', default: 'deny', rules: [{ from: { services: ['frontend'] } }] });
  const limits = parsePolicy({ service: 'api', rateLimits: [{ perSource: true, requestsPerSecond: 0.01, burst: 3 }] });
  channel.publish(snapshotFromInstances(1, [], new Map([['api', limits]]), kindPolicyMaps([authz])));
  const records: AccessRecord[] = [];
  const accessLog = createAccessLog({ sample: 1, rng: seededRng(1), clock: systemClock, forward: (r) => records.push(r) })!;
  cleanups.push(() => accessLog.close());
  const server = createInboundServer({
    runtime,
    appPort: app.port,
    service: 'api',
    accessLog,
    admission: new InboundAdmission({ service: 'api', snapshots: channel, clock: runtime.clock }),
    peers: new MtlsPeers(() => 'weft.test'),
    mtls: { mode: 'permissive', identity: api },
  });
  const { port } = await server.listen('127.0.0.1', 0);
  cleanups.push(() => server.close(0));
  return { port, runtime, records, server };
}

/** A caller's outbound server for service "api" at `port`, dialling mTLS as frontend (or in plaintext). */
async function caller(port: number, service: string, tls: boolean): Promise<number> {
  const mesh = new MeshTls({ connectTimeoutMs: 1_000 });
  mesh.setMesh({ trustDomain: 'weft.test', mtlsDefault: tls ? 'strict' : 'disabled' });
  mesh.setIdentity(frontend);
  const endpoints: Instance[] = [instance('api-1', port, { service: 'api' })];
  const proxy = createOutboundServer({ runtime: quietRuntime(), snapshots: snapshotsOf(endpoints), localService: service, mtls: mesh });
  const listening = await proxy.listen('127.0.0.1', 0);
  cleanups.push(() => proxy.close(0));
  return listening.port;
}

describe('inbound behind mTLS', () => {
  it('admits frontend proven by mTLS, refuses a plaintext caller claiming to be frontend', async () => {
    const sidecar = await apiSidecar();
    const proven = await caller(sidecar.port, 'frontend', true);
    const claimed = await caller(sidecar.port, 'frontend', false);
    expect((await send(proven, { host: 'api' })).status).toBe(200);
    const refused = await send(claimed, { host: 'api' });
    expect(refused.status).toBe(403);
    expect(refused.headers['x-weft-error']).toBe('FORBIDDEN');
  });

  it('counts, logs and limits a proven caller as the service its certificate names, whatever its sidecar announces', async () => {
    const sidecar = await apiSidecar();
    // This caller's sidecar announces "admin", but its certificate says frontend.
    const port = await caller(sidecar.port, 'admin', true);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await send(port, { host: 'api' })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    await until(() => sidecar.records.length === 4);
    expect(sidecar.records.map((r) => r.source)).toEqual(['frontend', 'frontend', 'frontend', 'frontend']);
    const text = await sidecar.runtime.metrics.metrics();
    expect(text).toContain('weft_proxy_requests_total{direction="inbound",source="frontend",destination="api",code="200",classification="success"} 3');
    expect(text).toContain('weft_proxy_rate_limited_total{destination="api",source="frontend"} 1');
    expect(text).not.toContain('source="admin"');
  });

  it('switches the port to strict live: the plaintext caller is then refused at connection, the mTLS caller goes on', async () => {
    const sidecar = await apiSidecar();
    const proven = await caller(sidecar.port, 'frontend', true);
    const plain = await caller(sidecar.port, 'frontend', false);
    sidecar.server.mtls!.setMode('strict');
    expect((await send(proven, { host: 'api' })).status).toBe(200);
    const reply = await send(plain, { host: 'api' });
    expect(reply.status).toBeGreaterThanOrEqual(502);
    expect(sidecar.server.mtls!.refusals.plaintext).toBeGreaterThanOrEqual(1);
  });
});
