// Control stats: a real mesh in-process (control plane, two greeter instances behind sidecars, a client sidecar);
// GET /api/v1/stats and the built `weft stat` agree with the traffic sent.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../../src/control/index.js';
import { ADMIN_META_KEY, type StatsReply } from '../../../src/model/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import type { ControlClient } from '../../../src/workload/index.js';
import { pollUntil, runWeft, type HttpClient } from '../../e2e/weft-cli.js';
import { freePorts } from '../../support/index.js';
import { startStatsMesh, type StatsMesh } from './stats-mesh.js';
const REQUESTS = 400;
const BUILT_CLI = existsSync(fileURLToPath(new URL('../../../dist/cli/commands/stat.js', import.meta.url)));

/** A greeter that answers every tenth /hello with 500 and counts what it served. */
interface App {
  server: Server;
  port: number;
  hits: number;
  failures: number;
}

async function startApp(): Promise<App> {
  const app: App = { server: createServer(), port: 0, hits: 0, failures: 0 };
  app.server.on('request', (req, res) => {
    if (req.url?.startsWith('/hello')) {
      app.hits++;
      if (app.hits % 10 === 0) {
        app.failures++;
        res.statusCode = 500;
      }
    }
    res.end('hi');
  });
  await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
  app.port = (app.server.address() as AddressInfo).port;
  return app;
}

describe('stats of a running mesh', () => {
  let mesh: StatsMesh;
  let control: ControlPlane;
  let client: ControlClient;
  let http: HttpClient;
  let sidecars: readonly Sidecar[];
  const apps: App[] = [];
  let outbound: string;

  beforeAll(async () => {
    mesh = await startStatsMesh();
    ({ control, client, http, sidecars } = mesh);
    for (let i = 0; i < 2; i++) {
      const app = await startApp();
      apps.push(app);
      await mesh.sidecar('greeter', app.port);
    }
    outbound = `http://127.0.0.1:${(await mesh.sidecar('client')).outbound.port}`;
    await pollUntil('both greeters registered with their admin address', 15_000, async () =>
      control.registry.instances('greeter').filter((i) => i.health === 'passing' && i.meta[ADMIN_META_KEY]).length === 2 ? true : undefined,
    );
    await pollUntil('the client sidecar reaching greeter', 15_000, async () => ((await http.send(`${outbound}/warmup`, { headers: { host: 'greeter' } })).status === 200 ? true : undefined));
    // The first stats request samples each sidecar twice: the first sample is the baseline every later window is compared with.
    const first = await client.stats({ service: 'greeter' });
    expect(first.skipped).toEqual([]);
    expect(first.rows).toMatchObject([{ service: 'greeter', sidecars: 2 }]);

    let next = 0;
    const worker = async () => {
      while (next < REQUESTS) {
        next++;
        await http.send(`${outbound}/hello`, { headers: { host: 'greeter' } });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  }, 60_000);

  afterAll(async () => {
    await mesh?.close();
    for (const app of apps) app.server.close();
  }, 30_000);

  const served = () => apps.reduce((n, a) => n + a.hits, 0);
  const failed = () => apps.reduce((n, a) => n + a.failures, 0);

  /** Stats over the whole test, once the sidecars have counted (nearly) everything the apps served. */
  const settled = (byInstance: boolean): Promise<StatsReply> =>
    pollUntil('stats covering the traffic', 15_000, async () => {
      const reply = await client.stats({ service: 'greeter', windowSeconds: 600, byInstance });
      const total = reply.rows.reduce((n, r) => n + r.requests, 0);
      return total >= served() ? reply : undefined;
    });

  it('reports per service the requests, success rate and latency the traffic had', async () => {
    const reply = await settled(false);
    expect(reply).toMatchObject({ direction: 'inbound', by: 'service', windowSeconds: 600, skipped: [] });
    expect(reply.rows).toHaveLength(1);
    const row = reply.rows[0]!;
    expect(row.service).toBe('greeter');
    expect(row.sidecars).toBe(2);
    expect(Math.abs(row.requests - REQUESTS)).toBeLessThanOrEqual(REQUESTS * 0.02);
    const appRate = 1 - failed() / served();
    expect(appRate).toBeCloseTo(0.9, 1);
    expect(Math.abs(row.successRate! - appRate)).toBeLessThanOrEqual(0.02);
    expect(row.rps).toBeGreaterThan(0);
    const { p50, p95, p99 } = row.latencyMs;
    expect(p50).not.toBeNull();
    expect(p50!).toBeGreaterThan(0);
    expect(p50!).toBeLessThanOrEqual(p95!);
    expect(p95!).toBeLessThanOrEqual(p99!);
  });

  it('splits the same numbers per instance', async () => {
    const reply = await settled(true);
    expect(reply.by).toBe('instance');
    expect(reply.rows.map((r) => r.instance).sort()).toEqual(sidecars.slice(0, 2).map((s) => s.instanceId).sort());
    for (const [i, app] of apps.entries()) {
      const row = reply.rows.find((r) => r.instance === sidecars[i]!.instanceId)!;
      expect(Math.abs(row.requests - app.hits)).toBeLessThanOrEqual(Math.max(2, app.hits * 0.02));
      expect(row.sidecars).toBe(1);
    }
  });

  it('skips and reports a sidecar whose admin port does not answer', async () => {
    const [closed] = await freePorts(1);
    await control.registry.register({ id: 'ghost-1', service: 'ghost', host: '127.0.0.1', port: 9, meta: { [ADMIN_META_KEY]: `127.0.0.1:${closed}` } });
    const reply = await client.stats({ service: 'ghost' });
    expect(reply.rows).toEqual([]);
    expect(reply.skipped).toEqual([expect.objectContaining({ service: 'ghost', instance: 'ghost-1', reason: expect.stringMatching(/^unreachable: /) })]);
    await control.registry.deregister('ghost-1');
  });

  it('refuses a bad window or grouping with the field named', async () => {
    for (const [query, field] of [['window=forever', 'window'], ['by=zone', 'by'], ['service=Bad_Name', 'service']] as const) {
      const reply = await http.send(`${control.url}/api/v1/stats?${query}`);
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.body)).toMatchObject({ code: 'VALIDATION_FAILED', field });
    }
  });

  it.skipIf(!BUILT_CLI)('weft stat --json and the table agree with the traffic', async () => {
    await settled(false);
    const json = await runWeft(['stat', 'greeter', '--json', '--window', '10m', '--control', control.url]);
    expect(json.code, json.stderr).toBe(0);
    const reply = JSON.parse(json.stdout) as StatsReply;
    expect(Math.abs(reply.rows[0]!.requests - REQUESTS)).toBeLessThanOrEqual(REQUESTS * 0.02);
    const table = await runWeft(['stat', '--instances', '--window', '10m', '--control', control.url]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+INSTANCE\s+SUCCESS\s+RPS\s+LATENCY_P50\s+LATENCY_P95\s+LATENCY_P99\s+TCP_CONN$/);
    expect(lines.filter((l) => l.startsWith('greeter ')).length).toBe(2);
    const watch = await runWeft(['stat', '--json', '--watch', '--count', '2', '--control', control.url]);
    expect(watch.code, watch.stderr).toBe(0);
    expect(watch.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as StatsReply).direction)).toEqual(['inbound', 'inbound']);
  }, 30_000);
});
