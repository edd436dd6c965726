// Control stats: a real mesh in-process (control plane, a frontend calling greeter and echo through its sidecar,
// an outbound-only client); GET /api/v1/topology has exactly the edges and counts of the traffic sent.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_META_KEY, type TopologyEdge, type TopologyReply } from '../../../src/model/index.js';
import { pollUntil } from '../../e2e/weft-cli.js';
import { startStatsMesh, type StatsMesh } from './stats-mesh.js';
const TO_GREETER = 60;
const TO_ECHO_OK = 20;
const TO_ECHO_FAILING = 10;

/** An app that answers /fail with 500 and anything else with 200. */
async function startApp(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    res.statusCode = req.url === '/fail' ? 500 : 200;
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('topology of a running mesh', () => {
  let mesh: StatsMesh;
  const apps: Server[] = [];
  let frontend: string;
  let outboundOnly: string;

  const withApp = async (service: string) => {
    const app = await startApp();
    apps.push(app.server);
    return mesh.sidecar(service, app.port);
  };
  const send = (base: string, host: string, path: string) => mesh.http.send(`${base}${path}`, { headers: { host } });

  beforeAll(async () => {
    mesh = await startStatsMesh();
    await withApp('greeter');
    await withApp('echo');
    frontend = `http://127.0.0.1:${(await withApp('frontend')).outbound.port}`;
    outboundOnly = `http://127.0.0.1:${(await mesh.sidecar('client')).outbound.port}`;
    await pollUntil('three services registered with their admin address', 15_000, async () =>
      mesh.control.registry.all().filter((i) => i.health === 'passing' && i.meta[ADMIN_META_KEY]).length === 3 ? true : undefined,
    );
    for (const host of ['greeter', 'echo']) {
      await pollUntil(`the frontend reaching ${host}`, 15_000, async () => ((await send(frontend, host, '/warmup')).status === 200 ? true : undefined));
    }
    // The first request samples every sidecar twice; those samples are the baseline of every later (long) window.
    const first = await mesh.client.topology();
    expect(first.skipped).toEqual([]);

    for (let i = 0; i < TO_GREETER; i++) await send(frontend, 'greeter', '/hello');
    for (let i = 0; i < TO_ECHO_OK; i++) await send(frontend, 'echo', '/ok');
    for (let i = 0; i < TO_ECHO_FAILING; i++) await send(frontend, 'echo', '/fail');
    // Outbound-only sidecars register nothing: their calls are not edges.
    for (let i = 0; i < 5; i++) expect((await send(outboundOnly, 'greeter', '/hello')).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await mesh?.close();
    for (const app of apps) app.close();
  }, 30_000);

  const edge = (reply: TopologyReply, source: string, destination: string): TopologyEdge | undefined =>
    reply.edges.find((e) => e.source === source && e.destination === destination);

  it('has one edge per caller and callee with the exact requests and successes sent', async () => {
    const reply = await pollUntil('the topology to cover the traffic', 15_000, async () => {
      const r = await mesh.client.topology({ windowSeconds: 600 });
      return edge(r, 'frontend', 'greeter')?.requests === TO_GREETER && edge(r, 'frontend', 'echo')?.requests === TO_ECHO_OK + TO_ECHO_FAILING ? r : undefined;
    });
    expect(reply).toMatchObject({ windowSeconds: 600, skipped: [] });
    expect(reply.edges.map((e) => `${e.source}->${e.destination}`)).toEqual(['frontend->echo', 'frontend->greeter']);
    const greeter = edge(reply, 'frontend', 'greeter')!;
    expect(greeter).toMatchObject({ requests: TO_GREETER, successes: TO_GREETER, successRate: 1 });
    expect(greeter.rps).toBeGreaterThan(0);
    expect(greeter.latencyMs.p50).toBeGreaterThan(0);
    expect(greeter.latencyMs.p50!).toBeLessThanOrEqual(greeter.latencyMs.p99!);
    const echo = edge(reply, 'frontend', 'echo')!;
    expect(echo).toMatchObject({ requests: TO_ECHO_OK + TO_ECHO_FAILING, successes: TO_ECHO_OK });
    expect(echo.successRate).toBeCloseTo(TO_ECHO_OK / (TO_ECHO_OK + TO_ECHO_FAILING), 10);
  });

  it('leaves out edges without requests in a window that starts after the traffic', async () => {
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const reply = await mesh.client.topology({ windowSeconds: 1 });
    expect(reply.windowSeconds).toBe(1);
    expect(reply.edges).toEqual([]);
  });

  it('refuses a bad window with the field named', async () => {
    const reply = await mesh.http.send(`${mesh.control.url}/api/v1/topology?window=forever`);
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'VALIDATION_FAILED', field: 'window' });
  });
});
