// Tests for WebSocket (HTTP/1.1 Upgrade) through the outbound listener: the real `ws` client and server on 127.0.0.1.
import net, { type AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { Runtime } from '../../src/core/index.js';
import { InboundAdmission } from '../../src/inbound/index.js';
import { kindPolicyMaps, parseKindPolicy, snapshotFromInstances } from '../../src/model/index.js';
import { createInboundServer, createOutboundServer } from '../../src/proxy/index.js';
import { SnapshotChannel } from '../../src/resolve/snapshot-channel.js';
import { MtlsPeers } from '../../src/security/authz/index.js';
import { formatSpiffeId, spiffeId } from '../../src/security/identity.js';
import { MeshTls, WorkloadIdentity } from '../../src/security/tls/index.js';
import { createRoot, issueLeaf, materialOf } from '../security/tls/test-pki.js';
import { instance, quietRuntime, snapshotsOf, startServer, until } from './request-path-fixtures.js';

const spiffe = (service: string): string => formatSpiffeId(spiffeId('weft.test', service));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A ws server echoing every message; `bye` makes it close with 4000. `closes` gets the code of each session that ends. */
async function echoServer(closes: number[] = []): Promise<number> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (socket, req) => {
    socket.send(`hello ${req.url}`);
    socket.on('close', (code) => closes.push(code));
    socket.on('message', (data, binary) => {
      if (!binary && data.toString() === 'bye') socket.close(4000, 'asked to');
      else socket.send(data, { binary });
    });
  });
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const client of wss.clients) client.terminate();
    wss.close(() => resolve());
  }));
  return (wss.address() as AddressInfo).port;
}

const runtimes: Runtime[] = [];

async function outboundTo(port: number): Promise<number> {
  const runtime = quietRuntime();
  runtimes.push(runtime);
  const proxy = createOutboundServer({ runtime, snapshots: snapshotsOf([instance('ws-0', port)]) });
  const address = await proxy.listen('127.0.0.1', 0);
  cleanups.push(() => proxy.close(0));
  return address.port;
}

/** The value of one series in the Prometheus text of the last outbound server made. */
async function sample(name: string, labels: string): Promise<number> {
  const text = await runtimes.at(-1)!.metrics.metrics();
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

function connect(port: number, path = '/chat'): Promise<{ ws: WebSocket; messages: (WebSocket.RawData | string)[]; closed: Promise<[number, string]> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { host: 'greeter' } });
  const messages: (WebSocket.RawData | string)[] = [];
  ws.on('message', (data, binary) => messages.push(binary ? (data as Buffer) : data.toString()));
  const closed = new Promise<[number, string]>((resolve) => ws.on('close', (code, reason) => resolve([code, reason.toString()])));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('error', reject);
  });
}

describe('WebSocket through the outbound listener', () => {
  it('carries messages both ways, a 1 MB binary message whole, and the server-initiated close', async () => {
    const port = await outboundTo(await echoServer());
    const { ws, messages, closed } = await connect(port);
    await until(() => messages.length === 1);
    expect(messages[0]).toBe('hello /chat');
    ws.send('ping');
    const big = Buffer.alloc(1024 * 1024, 7);
    ws.send(big);
    await until(() => messages.length === 3);
    expect(messages[1]).toBe('ping');
    expect(Buffer.compare(messages[2] as Buffer, big)).toBe(0);
    expect(await sample('weft_proxy_in_flight', 'direction="outbound"')).toBe(1);
    ws.send('bye');
    expect(await closed).toEqual([4000, 'asked to']);
    // The session is one request, counted with its 101 once it is over.
    for (let i = 0; i < 100 && (await sample('weft_proxy_requests_total', 'code="101"')) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await sample('weft_proxy_requests_total', 'code="101"')).toBe(1);
    expect(await sample('weft_proxy_in_flight', 'direction="outbound"')).toBe(0);
  });

  it('passes on an endpoint that refuses to switch, and closes the connection after its answer', async () => {
    const plain = await startServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('no sockets here');
    });
    cleanups.push(() => plain.close());
    const port = await outboundTo(plain.port);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { host: 'greeter' } });
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(403);
  });

  it('closes open sessions with 1001 both ways when the listener drains, after the frame in flight', async () => {
    const serverCloses: number[] = [];
    const appPort = await echoServer(serverCloses);
    const proxy = createOutboundServer({ runtime: quietRuntime(), snapshots: snapshotsOf([instance('ws-0', appPort)]) });
    const { port } = await proxy.listen('127.0.0.1', 0);
    cleanups.push(() => proxy.close(0));
    const sessions = await Promise.all([connect(port), connect(port)]);
    await until(() => sessions.every((s) => s.messages.length === 1));
    const errors: Error[] = [];
    for (const { ws } of sessions) ws.on('error', (err) => errors.push(err));
    // A 4 MB message each way is still crossing when the drain begins: the close frame must wait for its end.
    const big = Buffer.alloc(4 * 1024 * 1024, 5);
    sessions[0]!.ws.send(big);
    const started = Date.now();
    await proxy.close(20_000);
    // Both sessions ended by the close handshake, long before the drain time.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await Promise.all(sessions.map((s) => s.closed))).toEqual([[1001, 'draining'], [1001, 'draining']]);
    await until(() => serverCloses.length === 2);
    expect(serverCloses).toEqual([1001, 1001]);
    expect(errors).toEqual([]);
    // What the client got of the echo, if anything, is whole.
    for (const message of sessions[0]!.messages.slice(1)) expect(Buffer.compare(message as Buffer, big)).toBe(0);
  });

  it('ends other upgraded protocols, and a WebSocket that stops looking like one, with a FIN on drain', async () => {
    const app = await startServer(() => {});
    app.server.on('upgrade', (req, socket: net.Socket, head: Buffer) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${String(req.headers.upgrade)}\r\n\r\n`);
      socket.write(head);
      socket.pipe(socket);
    });
    cleanups.push(() => app.close());
    const proxy = createOutboundServer({ runtime: quietRuntime(), snapshots: snapshotsOf([instance('echo-0', app.port)]) });
    const { port } = await proxy.listen('127.0.0.1', 0);
    cleanups.push(() => proxy.close(0));
    const open = async (protocol: string): Promise<{ ended: Promise<string> }> => {
      let got = '';
      const client = net.connect(port, '127.0.0.1', () => client.write(`GET / HTTP/1.1\r\nHost: greeter\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n\r\nnot a frame`));
      client.on('data', (chunk: Buffer) => (got += chunk.toString('latin1')));
      client.on('error', () => {});
      await until(() => got.endsWith('not a frame'), 2_000);
      return { ended: new Promise((resolve) => client.on('end', () => {
        client.end();
        resolve(got);
      })) };
    };
    const sessions = await Promise.all([open('echo/1'), open('websocket')]);
    await proxy.close(5_000);
    for (const text of await Promise.all(sessions.map((s) => s.ended))) expect(text).toMatch(/^HTTP\/1\.1 101 [^]*\r\n\r\nnot a frame$/);
  });

  it('answers an upgrade to a service without endpoints with the mesh error, not a switch', async () => {
    const port = await outboundTo(await echoServer());
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { host: 'nobody' } });
    const reply = await new Promise<[number, string | string[] | undefined]>((resolve) => ws.on('unexpected-response', (_req, res) => resolve([res.statusCode ?? 0, res.headers['x-weft-error']])));
    expect(reply).toEqual([503, 'NO_ENDPOINTS']);
  });
});

/** Writes `text` on a raw connection and collects what comes back until the server closes or `ms` pass. */
function rawExchange(port: number, text: string, options: { ms?: number; endAfterWrite?: boolean } = {}): Promise<string> {
  return new Promise((resolve) => {
    let reply = '';
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(text);
      if (options.endAfterWrite) socket.end();
    });
    const timer = setTimeout(() => socket.destroy(), options.ms ?? 3_000);
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(reply);
    });
  });
}

const H2C_OFFER = 'GET /plain HTTP/1.1\r\nHost: greeter\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n';

describe('upgrade requests that do not become tunnels', () => {
  it('serves an ignored h2c offer as a request without a body, so an app that reads the body first still answers', async () => {
    const app = await startServer((req, res) => {
      const framing = req.headers['transfer-encoding'] ?? req.headers['content-length'] ?? 'none';
      req.resume();
      req.on('end', () => res.end(`read ${framing}`));
    });
    cleanups.push(() => app.close());
    const reply = await rawExchange(await outboundTo(app.port), H2C_OFFER);
    expect(reply).toMatch(/^HTTP\/1\.1 200/);
    expect(reply).toMatch(/read none$/);
  });

  it('lets an upgrade request still waiting for its answer finish when the listener drains', async () => {
    const app = await startServer((_req, res) => {
      setTimeout(() => res.end('late but whole'), 200);
    });
    cleanups.push(() => app.close());
    const runtime = quietRuntime();
    const proxy = createOutboundServer({ runtime, snapshots: snapshotsOf([instance('slow-0', app.port)]) });
    const { port } = await proxy.listen('127.0.0.1', 0);
    const reply = rawExchange(port, H2C_OFFER);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await proxy.close(2_000);
    expect(await reply).toMatch(/late but whole$/);
  });

  it('cancels an upgrade whose client leaves before the endpoint answers, closing the connection to the endpoint', async () => {
    let upgraded = false;
    let upstreamClosed = false;
    const app = await startServer(() => {});
    app.server.on('upgrade', (_req, socket: net.Socket) => {
      // Never answers; only notices when the sidecar lets go (its FIN: node:http keeps an upgraded socket half-open).
      upgraded = true;
      socket.on('end', () => (upstreamClosed = true));
      socket.on('close', () => (upstreamClosed = true));
      socket.resume();
    });
    cleanups.push(() => app.close());
    const port = await outboundTo(app.port);
    const client = net.connect(port, '127.0.0.1', () => client.write('GET /chat HTTP/1.1\r\nHost: greeter\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'));
    client.on('error', () => {});
    client.resume();
    await until(() => upgraded, 2_000);
    // The client gives up (a FIN) while the endpoint is still deciding.
    client.end();
    await until(() => upstreamClosed, 2_000);
    expect(upstreamClosed).toBe(true);
    await until(() => client.destroyed || client.readableEnded, 2_000);
    expect(await sample('weft_proxy_in_flight', 'direction="outbound"')).toBe(0);
    client.destroy();
  });
});

describe('WebSocket through both sidecars over mTLS', () => {
  let api: WorkloadIdentity;
  let frontend: WorkloadIdentity;
  let intruder: WorkloadIdentity;
  beforeAll(async () => {
    const root = await createRoot('root');
    api = new WorkloadIdentity(materialOf(await issueLeaf(root, spiffe('api')), root));
    frontend = new WorkloadIdentity(materialOf(await issueLeaf(root, spiffe('frontend')), root));
    intruder = new WorkloadIdentity(materialOf(await issueLeaf(root, spiffe('intruder')), root));
  });

  /** Service "api": a ws echo app behind a strict inbound that admits frontend only. */
  async function apiSidecar(appCloses: number[] = []): Promise<{ port: number; close: (drainMs: number) => Promise<void> }> {
    const appPort = await echoServer(appCloses);
    const runtime = quietRuntime();
    const channel = new SnapshotChannel();
    const authz = parseKindPolicy('AuthorizationPolicy', { service: 'api', default: 'deny', rules: [{ from: { services: ['frontend'] } }] });
    channel.publish(snapshotFromInstances(1, [], new Map(), kindPolicyMaps([authz])));
    const server = createInboundServer({
      runtime,
      appPort,
      service: 'api',
      admission: new InboundAdmission({ service: 'api', snapshots: channel, clock: runtime.clock }),
      peers: new MtlsPeers(() => 'weft.test'),
      mtls: { mode: 'strict', identity: api },
    });
    const { port } = await server.listen('127.0.0.1', 0);
    let closed = false;
    const close = async (drainMs: number): Promise<void> => {
      if (closed) return;
      closed = true;
      await server.close(drainMs);
    };
    cleanups.push(() => close(0));
    return { port, close };
  }

  async function callerAs(identity: WorkloadIdentity, service: string, apiPort: number): Promise<number> {
    const mesh = new MeshTls({ connectTimeoutMs: 1_000 });
    mesh.setMesh({ trustDomain: 'weft.test', mtlsDefault: 'strict' });
    mesh.setIdentity(identity);
    const proxy = createOutboundServer({ runtime: quietRuntime(), snapshots: snapshotsOf([instance('api-1', apiPort, { service: 'api' })]), localService: service, mtls: mesh });
    const { port } = await proxy.listen('127.0.0.1', 0);
    cleanups.push(() => proxy.close(0));
    return port;
  }

  function open(port: number): Promise<{ ws: WebSocket; messages: string[]; closed: Promise<number> }> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/room`, { headers: { host: 'api' } });
    const messages: string[] = [];
    ws.on('message', (data) => messages.push(data.toString()));
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve({ ws, messages, closed }));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode} ${String(res.headers['x-weft-error'])}`)));
      ws.once('error', reject);
    });
  }

  it('carries a session from frontend, refuses one from a service the policy does not admit', async () => {
    const sidecar = await apiSidecar();
    const { ws, messages } = await open(await callerAs(frontend, 'frontend', sidecar.port));
    ws.send('over mTLS');
    await until(() => messages.length === 2);
    expect(messages).toEqual(['hello /room', 'over mTLS']);
    ws.close(1000);
    await expect(open(await callerAs(intruder, 'intruder', sidecar.port))).rejects.toThrow('status 403 FORBIDDEN');
  });

  it('closes open sessions with 1001 (going away) to the client and the app when the inbound side drains', async () => {
    const appCloses: number[] = [];
    const sidecar = await apiSidecar(appCloses);
    const { messages, closed } = await open(await callerAs(frontend, 'frontend', sidecar.port));
    await until(() => messages.length === 1);
    const started = Date.now();
    await sidecar.close(5_000);
    // The close frame crosses the caller's sidecar like any frame; the session ends by the handshake, not the drain time.
    expect(await closed).toBe(1001);
    await until(() => appCloses.length === 1);
    expect(appCloses).toEqual([1001]);
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});
