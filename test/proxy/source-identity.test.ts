// Proxy: the caller's service travels in x-weft-source from one sidecar's outbound side to the next one's inbound side.
import { afterEach, describe, it, expect } from 'vitest';
import { seededRng, systemClock } from '../../src/core/index.js';
import { createInboundServer } from '../../src/proxy/inbound-server.js';
import { createOutboundServer } from '../../src/proxy/outbound-server.js';
import { createAccessLog, type AccessRecord } from '../../src/telemetry/index.js';
import { instance, quietRuntime, send, snapshotsOf, startServer, until } from './request-path-fixtures.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** An app that answers with the x-weft-source header it was given ('-' for none), behind a real inbound server. */
async function greeterBehindInbound() {
  const app = await startServer((req, res) => res.end(String(req.headers['x-weft-source'] ?? '-')));
  cleanups.push(() => app.close());
  const runtime = quietRuntime();
  const records: AccessRecord[] = [];
  const accessLog = createAccessLog({ rng: seededRng(1), clock: systemClock, forward: (r) => records.push(r) })!;
  cleanups.push(() => accessLog.close());
  const inbound = createInboundServer({ runtime, appPort: app.port, service: 'greeter', accessLog });
  const { port } = await inbound.listen('127.0.0.1', 0);
  cleanups.push(() => inbound.close(0));
  return { port, runtime, records };
}

async function outboundTo(inboundPort: number, localService?: string): Promise<number> {
  const proxy = createOutboundServer({ runtime: quietRuntime(), snapshots: snapshotsOf([instance('greeter-a', inboundPort)]), ...(localService ? { localService } : {}) });
  const { port } = await proxy.listen('127.0.0.1', 0);
  cleanups.push(() => proxy.close(0));
  return port;
}

describe('source identity between sidecars', () => {
  it('announces the calling sidecar\'s service over whatever its app claimed; the next hop labels, logs and passes it on', async () => {
    const greeter = await greeterBehindInbound();
    const port = await outboundTo(greeter.port, 'web');
    expect((await send(port, { path: '/a' })).body).toBe('web');
    expect((await send(port, { path: '/b', headers: { 'x-weft-source': 'admin' } })).body).toBe('web');
    await until(() => greeter.records.length === 2);
    expect(greeter.records.map((r) => r.source)).toEqual(['web', 'web']);
    const text = await greeter.runtime.metrics.metrics();
    expect(text).toContain('weft_proxy_requests_total{direction="inbound",source="web",destination="greeter",code="200",classification="success"} 2');
    expect(text).toContain('weft_proxy_request_duration_seconds_count{direction="inbound",source="web",destination="greeter"} 2');
    expect(text).not.toContain('source="admin"');
  });

  it('removes an app\'s claim when the sidecar has no service of its own: the next hop counts the caller as _unknown', async () => {
    const greeter = await greeterBehindInbound();
    const port = await outboundTo(greeter.port);
    expect((await send(port, { headers: { 'x-weft-source': 'admin' } })).body).toBe('-');
    expect(await greeter.runtime.metrics.metrics()).toContain('weft_proxy_requests_total{direction="inbound",source="_unknown",destination="greeter",code="200",classification="success"} 1');
  });

  it('takes a malformed claim for _unknown in metrics and \'\' in the log, and still hands it to the app', async () => {
    const greeter = await greeterBehindInbound();
    expect((await send(greeter.port, { headers: { 'x-weft-source': 'Not_A_Service' } })).body).toBe('Not_A_Service');
    expect((await send(greeter.port, { headers: { 'x-weft-source': 'batch' } })).status).toBe(200);
    await until(() => greeter.records.length === 2);
    expect(greeter.records.map((r) => r.source)).toEqual(['', 'batch']);
    const text = await greeter.runtime.metrics.metrics();
    expect(text).toContain('weft_proxy_requests_total{direction="inbound",source="_unknown",destination="greeter",code="200",classification="success"} 1');
    expect(text).toContain('weft_proxy_requests_total{direction="inbound",source="batch",destination="greeter",code="200",classification="success"} 1');
  });
});
