// Tests: the sidecar's admin listener on a real socket — every route and the unknown-route reply.
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Counter } from 'prom-client';
import { seededRng, type Runtime } from '../../src/core/index.js';
import type { Instance } from '../../src/model/index.js';
import { createAdminServer, type AdminServer, type Readiness } from '../../src/proxy/admin-server.js';
import { StaticSnapshotSource } from '../../src/resolve/index.js';
import { createRuntime } from '../../src/telemetry/index.js';

function testRuntime(): Runtime {
  return { ...createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) }), rng: seededRng(5) };
}

const inst = (id: string): Instance => ({ id, service: 'greeter', host: '127.0.0.1', port: 9000, weight: 2, protocol: 'http1', meta: { zone: 'a' }, tags: [], ttlMs: 10_000, health: 'passing' });

describe('admin server', () => {
  let admin: AdminServer | undefined;

  afterEach(async () => {
    await admin?.close();
    admin = undefined;
  });

  async function start(readiness: () => Readiness, snapshots = new StaticSnapshotSource()): Promise<{ base: string; runtime: Runtime; snapshots: StaticSnapshotSource }> {
    const runtime = testRuntime();
    admin = createAdminServer({ runtime, snapshots, ready: readiness });
    const { host, port } = await admin.listen('127.0.0.1', 0);
    expect(host).toBe('127.0.0.1');
    expect(port).toBeGreaterThan(0);
    return { base: `http://127.0.0.1:${port}`, runtime, snapshots };
  }

  it('serves Prometheus text from the runtime registry', async () => {
    const { base, runtime } = await start(() => ({ ready: true }));
    const counter = new Counter({ name: 'weft_test_things_total', help: 'things', registers: [runtime.metrics] });
    counter.inc(3);
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(runtime.metrics.contentType);
    expect(await res.text()).toContain('weft_test_things_total 3');
  });

  it('answers /ready from the callback each time', async () => {
    let state: Readiness = { ready: false, reason: 'waiting for the first snapshot' };
    const { base } = await start(() => state);
    const down = await fetch(`${base}/ready`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ ready: false, reason: 'waiting for the first snapshot' });
    state = { ready: true };
    const up = await fetch(`${base}/ready`);
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ ready: true });
  });

  it('serves the current snapshot with its version', async () => {
    const { base, snapshots } = await start(() => ({ ready: true }), new StaticSnapshotSource([inst('g1')], 4));
    const first = (await (await fetch(`${base}/snapshot`)).json()) as { version: number; services: Record<string, { id: string; address: string; weight: number }[]> };
    expect(first.version).toBe(4);
    expect(first.services.greeter).toEqual([expect.objectContaining({ id: 'g1', address: '127.0.0.1:9000', weight: 2, meta: { zone: 'a' } })]);
    snapshots.set([inst('g1'), inst('g2')], 9);
    const second = (await (await fetch(`${base}/snapshot`)).json()) as { version: number; services: Record<string, unknown[]> };
    expect(second.version).toBe(9);
    expect(second.services.greeter).toHaveLength(2);
  });

  it('answers /healthz while up, 404 JSON for unknown routes and 405 for other methods', async () => {
    const { base } = await start(() => ({ ready: false }));
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    const missing = await fetch(`${base}/nope?x=1`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/json');
    expect(await missing.json()).toMatchObject({ code: 'NOT_FOUND' });
    const post = await fetch(`${base}/ready`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(await post.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
    const notReady = await fetch(`${base}/ready`);
    expect(await notReady.json()).toEqual({ ready: false, reason: 'not ready' });
  });

  it('closes even with keep-alive connections open', async () => {
    const { base } = await start(() => ({ ready: true }));
    await (await fetch(`${base}/healthz`)).text();
    await admin!.close();
    admin = undefined;
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
