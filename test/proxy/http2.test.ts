// Tests for HTTP/2 through the sidecar: h2c beside HTTP/1.1 on the outbound port, HTTP/2 endpoints over one multiplexed session, h2 between sidecars over mTLS.
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/core/index.js';
import { LISTENER_LIMIT_DEFAULTS } from '../../src/listener/index.js';
import type { Instance } from '../../src/model/index.js';
import { createInboundServer, createOutboundServer } from '../../src/proxy/index.js';
import { MtlsPeers } from '../../src/security/authz/index.js';
import type { MeshTls, WorkloadIdentity } from '../../src/security/tls/index.js';
import { apiSidecar, identities, meshAs } from './mesh-fixtures.js';
import { instance, quietRuntime, send, snapshotsOf, startServer } from './request-path-fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface H2App {
  port: number;
  /** Sessions the app accepted so far. */
  sessions(): number;
  seen: string[];
}

/** An h2c app: echoes method, path, body length and the x-weft-source it was given, and sends a trailer. */
async function h2App(): Promise<H2App> {
  const server = http2.createServer();
  let sessions = 0;
  const seen: string[] = [];
  server.on('session', () => sessions++);
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push(`${String(headers[':method'])} ${String(headers[':path'])} ${body.length} source=${String(headers['x-weft-source'] ?? '')}`);
      if (stream.destroyed) return;
      const size = Number(headers['x-reply-bytes'] ?? 0);
      stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': String(body.length) }));
      stream.end(size > 0 ? Buffer.alloc(size, 1) : `${String(headers[':method'])} ${String(headers[':path'])} ${body.length}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const trackSessions = new Set<http2.Http2Session>();
  server.on('session', (s) => trackSessions.add(s));
  cleanups.push(() => {
    for (const s of trackSessions) s.destroy();
  });
  return { port: (server.address() as AddressInfo).port, sessions: () => sessions, seen };
}

interface Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders | null;
}

function request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer | string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':authority': 'greeter', ...headers }, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let status = 0;
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | null = null;
    req.on('response', (h) => {
      status = Number(h[':status']);
      head = h;
    });
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve({ status, headers: head, body: Buffer.concat(chunks), trailers }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

function h2c(port: number): http2.ClientHttp2Session {
  // Node's client refuses to send a header block over 64 KiB itself, and gives up its session: room to send a hostile one.
  const session = http2.connect(`http://127.0.0.1:${port}`, { maxSendHeaderBlockLength: 1 << 20 });
  session.on('error', () => {});
  cleanups.push(() => session.destroy());
  return session;
}

const runtimes: Runtime[] = [];

async function outboundTo(instances: Instance[], options: { mtls?: MeshTls; localService?: string } = {}): Promise<number> {
  const runtime = quietRuntime();
  runtimes.push(runtime);
  const proxy = createOutboundServer({ runtime, snapshots: snapshotsOf(instances), ...options });
  const { port } = await proxy.listen('127.0.0.1', 0);
  cleanups.push(() => proxy.close(0));
  return port;
}

async function sample(runtime: Runtime, name: string, labels: string): Promise<number> {
  const text = await runtime.metrics.metrics();
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('h2c on the outbound listener', () => {
  it('carries HTTP/2 callers to an HTTP/1.1 endpoint: methods, bodies (a DELETE with one too), concurrent streams, Host from :authority', async () => {
    const seen: string[] = [];
    const app = await startServer((req, res) => {
      let length = 0;
      req.on('data', (chunk: Buffer) => (length += chunk.length));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} host=${req.headers.host} http=${req.httpVersion}`);
        res.end(`${req.method} ${length}`);
      });
    });
    cleanups.push(() => app.close());
    const session = h2c(await outboundTo([instance('g-0', app.port)]));
    expect((await request(session, { ':path': '/a' })).body.toString()).toBe('GET 0');
    expect((await request(session, { ':path': '/b', ':method': 'POST' }, 'x'.repeat(100_000))).body.toString()).toBe('POST 100000');
    expect((await request(session, { ':path': '/c', ':method': 'DELETE' }, 'gone')).body.toString()).toBe('DELETE 4');
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => request(session, { ':path': `/m${i}` })));
    expect(many.every((r) => r.status === 200)).toBe(true);
    expect(seen[0]).toBe('GET /a host=greeter http=1.1');
  });

  it("answers the mesh's own refusals in HTTP/2 with weft's JSON and code", async () => {
    const session = h2c(await outboundTo([]));
    const reply = await request(session, { ':path': '/', ':authority': 'nobody' });
    expect(reply.status).toBe(503);
    expect(reply.headers['x-weft-error']).toBe('NO_ENDPOINTS');
    expect(JSON.parse(reply.body.toString()).code).toBe('NO_ENDPOINTS');
    const connect = await request(session, { ':path': '/x', host: 'other' }).catch((error: Error) => error);
    expect(connect).not.toBeInstanceOf(Error);
    expect((connect as Reply).headers['x-weft-error']).toBe('AMBIGUOUS_HOST');
  });

  it('refuses a head larger than the limit without reaching the endpoint, and serves the session on', async () => {
    const app = await h2App();
    const session = h2c(await outboundTo([instance('g-0', app.port, { protocol: 'http2' })]));
    const headers: http2.OutgoingHttpHeaders = { ':path': '/too-big' };
    for (let i = 0; i < 20; i++) headers[`x-big-${i}`] = 'a'.repeat(4_000);
    const early = await request(session, headers).catch((error: NodeJS.ErrnoException) => error);
    // Before the client acknowledged the server's SETTINGS, nghttp2 does not apply the announced limit: weft answers 431.
    expect(early instanceof Error ? early.message : early.status).toBe(431);
    // Once it did, nghttp2 resets such a stream itself (ENHANCE_YOUR_CALM); either way the endpoint never sees it.
    const late = await request(session, headers).catch((error: NodeJS.ErrnoException) => error);
    expect(late instanceof Error ? late.message : late.status).toMatch(/431|NGHTTP2_ENHANCE_YOUR_CALM/);
    expect((await request(session, { ':path': '/after' })).status).toBe(200);
    expect(app.seen.some((line) => line.includes('/too-big'))).toBe(false);
  });
});

describe('h2c clients that leave, stall or answer early', () => {
  async function outboundServer(instances: Instance[]): Promise<{ port: number; proxy: ReturnType<typeof createOutboundServer> }> {
    const proxy = createOutboundServer({ runtime: quietRuntime(), snapshots: snapshotsOf(instances), limits: { ...LISTENER_LIMIT_DEFAULTS, requestTimeoutMs: 300, headersTimeoutMs: 300 } });
    const { port } = await proxy.listen('127.0.0.1', 0);
    cleanups.push(() => proxy.close(0));
    return { port, proxy };
  }

  it('lets go of a call whose client connection is gone, even after the response head', async () => {
    const app = http2.createServer();
    app.on('stream', (stream) => {
      stream.on('error', () => {});
      stream.respond({ ':status': 200 });
      stream.write('first of many');
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => app.close(() => resolve())));
    const { port, proxy } = await outboundServer([instance('g-0', (app.address() as AddressInfo).port, { protocol: 'http2' })]);
    let socket!: net.Socket;
    const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => (socket = net.connect(port, '127.0.0.1')) });
    session.on('error', () => {});
    const req = session.request({ ':authority': 'greeter', ':path': '/watch' });
    req.on('error', () => {});
    await new Promise((resolve) => req.once('response', resolve));
    expect(proxy.inFlight()).toBe(1);
    socket.destroy();
    for (let i = 0; i < 100 && proxy.inFlight() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(proxy.inFlight()).toBe(0);
  });

  it('lets go of a client still sending when the answer is complete, and answers a stalled stream 408', async () => {
    const app = await startServer((req, res) => {
      if (req.url === '/upload') {
        // Answers at once, without reading the upload.
        res.writeHead(413, { connection: 'close' });
        res.end('too large');
        return;
      }
      req.resume();
      req.on('end', () => res.end('read it all'));
    });
    cleanups.push(() => app.close());
    const { port, proxy } = await outboundServer([instance('g-0', app.port)]);
    const session = h2c(port);
    const upload = session.request({ ':authority': 'greeter', ':path': '/upload', ':method': 'POST' }, { endStream: false });
    upload.on('error', () => {});
    upload.write(Buffer.alloc(64 * 1024, 1));
    const status = await new Promise<number>((resolve) => upload.once('response', (headers) => resolve(Number(headers[':status']))));
    expect(status).toBe(413);
    // The listener closed its side of the stream (RST_STREAM NO_ERROR) rather than wait for the rest of the upload.
    for (let i = 0; i < 100 && proxy.inFlight() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(proxy.inFlight()).toBe(0);
    // A stream that sends part of its body and then nothing is answered once the request time is up.
    const stalled = session.request({ ':authority': 'greeter', ':path': '/stalled', ':method': 'POST' }, { endStream: false });
    stalled.on('error', () => {});
    stalled.write('a little');
    const late = await new Promise<string>((resolve) => stalled.once('response', (headers) => resolve(`${String(headers[':status'])} ${String(headers['x-weft-error'])}`)));
    expect(late).toBe('408 REQUEST_TIMEOUT');
  });

  it('closes connections that have sent nothing when it closes, without waiting for their head timeout', async () => {
    const { port, proxy } = await outboundServer([]);
    const silent = net.connect(port, '127.0.0.1');
    silent.on('error', () => {});
    await new Promise((resolve) => silent.once('connect', resolve));
    const closed = new Promise<void>((resolve) => silent.once('close', () => resolve()));
    await proxy.close(0);
    await closed;
  });
});

describe('HTTP/2 endpoints', () => {
  it('multiplexes requests to an endpoint over one session, passes trailers through, and carries large bodies both ways', async () => {
    const app = await h2App();
    const session = h2c(await outboundTo([instance('g-0', app.port, { protocol: 'http2' })]));
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => request(session, { ':path': `/s${i}` })));
    expect(replies.every((r) => r.status === 200 && r.trailers?.['x-checksum'] === '0')).toBe(true);
    expect(app.sessions()).toBe(1);
    const up = Buffer.alloc(4 * 1024 * 1024, 2);
    const reply = await request(session, { ':path': '/big', ':method': 'POST', 'x-reply-bytes': String(3 * 1024 * 1024) }, up);
    expect(reply.body.length).toBe(3 * 1024 * 1024);
    expect(reply.trailers?.['x-checksum']).toBe(String(up.length));
  });

  it('carries an HTTP/1.1 caller to an HTTP/2 endpoint, trailers included', async () => {
    const app = await h2App();
    const port = await outboundTo([instance('g-0', app.port, { protocol: 'http2' })]);
    const res = await send(port, { path: '/h1', method: 'POST', body: 'hello' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('POST /h1 5');
  });
});

describe('h2 between sidecars over mTLS', () => {
  let api: WorkloadIdentity;
  let frontend: WorkloadIdentity;
  let intruder: WorkloadIdentity;
  beforeAll(async () => {
    ({ api, frontend, intruder } = await identities('api', 'frontend', 'intruder'));
  });

  it('dials h2 by ALPN, multiplexes over one connection, proves the caller, and refuses one the policy does not admit', async () => {
    const app = await h2App();
    const sidecar = await apiSidecar(app.port, 'http2', api, cleanups);
    const port = await outboundTo([instance('api-1', sidecar.port, { service: 'api', protocol: 'http2' })], { mtls: meshAs(frontend), localService: 'frontend' });
    const session = h2c(port);
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => request(session, { ':path': `/p${i}`, ':authority': 'api' })));
    expect(replies.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 200));
    expect(replies[0]!.trailers?.['x-checksum']).toBe('0');
    expect(app.seen.filter((s) => s.endsWith('source=frontend'))).toHaveLength(20);
    // One TLS connection carried all twenty: the inbound side accepted one, its app session one.
    expect(await sample(sidecar.runtime, 'weft_proxy_tcp_connections_opened_total', 'direction="inbound",side="downstream"')).toBe(1);
    expect(app.sessions()).toBe(1);
    const denied = await request(h2c(await outboundTo([instance('api-1', sidecar.port, { service: 'api', protocol: 'http2' })], { mtls: meshAs(intruder), localService: 'intruder' })), { ':path': '/', ':authority': 'api' });
    expect(denied.status).toBe(403);
    expect(denied.headers['x-weft-error']).toBe('FORBIDDEN');
  });

  it('still speaks HTTP/1.1 over mTLS to endpoints that do', async () => {
    const app = await startServer((req, res) => res.end(`h1 ${req.httpVersion}`));
    cleanups.push(() => app.close());
    const runtime = quietRuntime();
    const inbound = createInboundServer({ runtime, appPort: app.port, service: 'api', peers: new MtlsPeers(() => 'weft.test'), mtls: { mode: 'strict', identity: api } });
    const { port: inboundPort } = await inbound.listen('127.0.0.1', 0);
    cleanups.push(() => inbound.close(0));
    const port = await outboundTo([instance('api-1', inboundPort, { service: 'api' })], { mtls: meshAs(frontend), localService: 'frontend' });
    const res = await send(port, { host: 'api' });
    expect(res.body).toBe('h1 1.1');
  });
});
