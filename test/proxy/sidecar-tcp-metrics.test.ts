// Proxy: a sidecar's TCP metrics in a real mesh: keep-alive connections to its inbound listener (and the stats API's
// TCP column), its connections to the app, and an outbound sidecar's upstream connections per destination service.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_META_KEY } from '../../src/model/index.js';
import type { Sidecar } from '../../src/proxy/index.js';
import { pollUntil } from '../e2e/weft-cli.js';
import { startStatsMesh, type StatsMesh } from '../control/stats/stats-mesh.js';
import { metricValue } from '../telemetry/metric-value.js';

const KEEP_ALIVE = 3;

/** An app that keeps every socket it accepted, to compare its byte counts with the sidecar's. */
interface App {
  server: Server;
  port: number;
  sockets: Socket[];
}

async function startApp(): Promise<App> {
  const app: App = { server: createServer((_req, res) => res.end('ok')), port: 0, sockets: [] };
  app.server.on('connection', (socket: Socket) => app.sockets.push(socket));
  await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
  app.port = (app.server.address() as AddressInfo).port;
  return app;
}

/** A keep-alive HTTP/1.1 connection written by hand, so that its own byte counters are exactly what crossed it. */
async function dial(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

/** One GET on the connection; resolves with the status once the whole response (Content-Length framed) is read. */
function get(socket: Socket, host: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => done(new Error('no complete response within 5 s')), 5_000);
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      if (head < 0) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, head))?.[1]);
      if (text.length >= head + 4 + length) done(undefined, Number(text.slice(9, 12)));
    };
    const done = (error?: Error, status?: number) => {
      clearTimeout(timer);
      socket.off('data', onData).off('error', done);
      if (error) reject(error);
      else resolve(status!);
    };
    socket.on('data', onData).on('error', done);
    socket.write(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\n\r\n`);
  });
}

describe('TCP metrics of running sidecars', () => {
  let mesh: StatsMesh;
  const apps: App[] = [];
  let greeter: Sidecar;
  const clients: Socket[] = [];

  const withApp = async (service: string) => {
    const app = await startApp();
    apps.push(app);
    return mesh.sidecar(service, app.port);
  };
  const scrape = async (sidecar: Sidecar) => (await mesh.http.send(`http://127.0.0.1:${sidecar.admin.port}/metrics`)).body;
  const tcp = (text: string, name: string, direction: string, side: string, peer: string) => metricValue(text, `weft_proxy_tcp_${name}`, { direction, side, peer });
  const sum = (sockets: readonly Socket[], field: 'bytesRead' | 'bytesWritten') => sockets.reduce((n, s) => n + s[field], 0);

  beforeAll(async () => {
    mesh = await startStatsMesh();
    greeter = await withApp('greeter');
    await pollUntil('greeter registered with its admin address', 15_000, async () =>
      mesh.control.registry.instances('greeter').some((i) => i.health === 'passing' && i.meta[ADMIN_META_KEY]) ? true : undefined,
    );
  }, 30_000);

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await mesh?.close();
    for (const app of apps) app.server.close();
  }, 30_000);

  it('counts keep-alive connections to the inbound listener and their exact bytes, and the stats API shows them open', async () => {
    for (let i = 0; i < KEEP_ALIVE; i++) clients.push(await dial(greeter.inbound!.port));
    for (const client of clients) for (let i = 0; i < 2; i++) expect(await get(client, 'greeter', '/hello')).toBe(200);

    const text = await scrape(greeter);
    expect(tcp(text, 'connections_opened_total', 'inbound', 'downstream', '_unknown')).toBe(KEEP_ALIVE);
    expect(tcp(text, 'connections_open', 'inbound', 'downstream', '_unknown')).toBe(KEEP_ALIVE);
    expect(tcp(text, 'connections_closed_total', 'inbound', 'downstream', '_unknown')).toBe(0);
    expect(tcp(text, 'received_bytes_total', 'inbound', 'downstream', '_unknown')).toBe(sum(clients, 'bytesWritten'));
    expect(tcp(text, 'sent_bytes_total', 'inbound', 'downstream', '_unknown')).toBe(sum(clients, 'bytesRead'));
    // Toward the app: what the sidecar wrote is what the app read (its health probes only connect), and back.
    expect(tcp(text, 'sent_bytes_total', 'inbound', 'upstream', 'greeter')).toBe(sum(apps[0]!.sockets, 'bytesRead'));
    expect(tcp(text, 'received_bytes_total', 'inbound', 'upstream', 'greeter')).toBe(sum(apps[0]!.sockets, 'bytesWritten'));
    expect(tcp(text, 'connections_opened_total', 'inbound', 'upstream', 'greeter')).toBeGreaterThanOrEqual(1);

    const byInstance = await mesh.client.stats({ service: 'greeter', byInstance: true });
    expect(byInstance.rows).toEqual([expect.objectContaining({ instance: greeter.instanceId, tcpConnections: KEEP_ALIVE })]);
    const byService = await mesh.client.stats({ service: 'greeter' });
    expect(byService.rows).toEqual([expect.objectContaining({ service: 'greeter', tcpConnections: KEEP_ALIVE })]);

    for (const client of clients) client.end();
    const closed = await pollUntil('the sidecar to see the connections closed', 5_000, async () => {
      const now = await scrape(greeter);
      return tcp(now, 'connections_closed_total', 'inbound', 'downstream', '_unknown') === KEEP_ALIVE ? now : undefined;
    });
    expect(tcp(closed, 'connections_open', 'inbound', 'downstream', '_unknown')).toBe(0);
    expect(tcp(closed, 'received_bytes_total', 'inbound', 'downstream', '_unknown')).toBe(sum(clients, 'bytesWritten'));
  });

  it('counts an outbound sidecar’s upstream connections and bytes per destination service', async () => {
    const echo = await withApp('echo');
    const caller = await mesh.sidecar('caller');
    const app = await dial(caller.outbound.port);
    clients.push(app);
    for (const host of ['greeter', 'echo']) await pollUntil(`the caller reaching ${host}`, 15_000, async () => ((await get(app, host, '/warmup')) === 200 ? true : undefined));
    for (let i = 0; i < 3; i++) expect(await get(app, 'greeter', '/hello')).toBe(200);
    for (let i = 0; i < 2; i++) expect(await get(app, 'echo', '/hello')).toBe(200);

    const text = await scrape(caller);
    // One connection from the app, whatever it asked for.
    expect(tcp(text, 'connections_opened_total', 'outbound', 'downstream', '_unknown')).toBe(1);
    expect(tcp(text, 'received_bytes_total', 'outbound', 'downstream', '_unknown')).toBe(app.bytesWritten);
    expect(tcp(text, 'sent_bytes_total', 'outbound', 'downstream', '_unknown')).toBe(app.bytesRead);
    // One request at a time: each destination's pool needed one connection.
    expect(tcp(text, 'connections_opened_total', 'outbound', 'upstream', 'greeter')).toBe(1);
    expect(tcp(text, 'connections_opened_total', 'outbound', 'upstream', 'echo')).toBe(1);
    // What the caller sent each destination is what that destination's inbound listener received from it.
    const [greeterText, echoText] = await Promise.all([scrape(greeter), scrape(echo)]);
    const directToGreeter = sum(clients.slice(0, KEEP_ALIVE), 'bytesWritten');
    expect(tcp(text, 'sent_bytes_total', 'outbound', 'upstream', 'greeter')).toBe(tcp(greeterText, 'received_bytes_total', 'inbound', 'downstream', '_unknown')! - directToGreeter);
    expect(tcp(text, 'sent_bytes_total', 'outbound', 'upstream', 'echo')).toBe(tcp(echoText, 'received_bytes_total', 'inbound', 'downstream', '_unknown'));
    expect(tcp(text, 'received_bytes_total', 'outbound', 'upstream', 'echo')).toBe(tcp(echoText, 'sent_bytes_total', 'inbound', 'downstream', '_unknown'));
  }, 30_000);
});
