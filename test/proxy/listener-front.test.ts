// Tests for what the sidecar's listeners answer themselves: OPTIONS *, upgrades, CONNECT, HTTP/2 prior knowledge, malformed heads, absolute-form Host.
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/core/index.js';
import { createAdminServer } from '../../src/proxy/admin-server.js';
import { createInboundServer } from '../../src/proxy/inbound-server.js';
import { createOutboundServer } from '../../src/proxy/outbound-server.js';
import { HTTP_1_1_REQUIRED } from '../../src/listener/index.js';
import { instance, quietRuntime, send, snapshotsOf, startServer, type TestServer } from './request-path-fixtures.js';
import { rejected } from '../listener/rejection-count.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** An app that records the Host and target of every request it is given. */
async function recordingApp(): Promise<{ server: TestServer; seen: string[] }> {
  const seen: string[] = [];
  const server = await startServer((req, res) => {
    seen.push(`${req.method} ${req.url} host=${req.headers.host}`);
    res.end('ok');
  });
  cleanups.push(() => server.close());
  return { server, seen };
}

type Front = { name: 'outbound' | 'inbound'; port: number; runtime: Runtime; seen: string[] };

async function fronts(): Promise<Front[]> {
  const app = await recordingApp();
  const outRuntime = quietRuntime();
  const outbound = createOutboundServer({ runtime: outRuntime, snapshots: snapshotsOf([instance('greeter-1', app.server.port)]) });
  const out = await outbound.listen('127.0.0.1', 0);
  cleanups.push(() => outbound.close(0));
  const inRuntime = quietRuntime();
  const inbound = createInboundServer({ runtime: inRuntime, appPort: app.server.port, service: 'greeter' });
  const inb = await inbound.listen('127.0.0.1', 0);
  cleanups.push(() => inbound.close(0));
  return [
    { name: 'outbound', port: out.port, runtime: outRuntime, seen: app.seen },
    { name: 'inbound', port: inb.port, runtime: inRuntime, seen: app.seen },
  ];
}

/** Writes raw bytes and reads until the server closes (or a bound passes), as a misbehaving client would. */
function raw(port: number, text: string | Buffer, waitMs = 2_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('error', () => {});
  });
}

describe('sidecar listeners: requests they answer themselves', () => {
  it('answers OPTIONS * with 204 and Allow, counting no error, and never forwards it', async () => {
    for (const front of await fronts()) {
      const reply = await raw(front.port, 'OPTIONS * HTTP/1.1\r\nHost: greeter\r\nConnection: close\r\n\r\n');
      expect(reply, front.name).toMatch(/^HTTP\/1\.1 204/);
      expect(reply, front.name).toMatch(/allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS/i);
      const metrics = await front.runtime.metrics.metrics();
      expect(metrics, front.name).not.toMatch(/weft_proxy_errors_total\{[^}]*\} [1-9]/);
      expect(metrics, front.name).not.toMatch(/weft_proxy_requests_total\{[^}]*code="5\d\d"[^}]*\} [1-9]/);
      const other = await raw(front.port, 'GET * HTTP/1.1\r\nHost: greeter\r\nConnection: close\r\n\r\n');
      expect(other, front.name).toMatch(/^HTTP\/1\.1 400/);
      expect(other, front.name).toMatch(/x-weft-error: BAD_REQUEST/i);
    }
    expect((await fronts())[0]!.seen).toEqual([]);
  });

  it('carries a WebSocket upgrade on to the app as an upgrade (this app answers without switching: its answer comes back, then the close), and serves an ignored h2c upgrade in HTTP/1.1', async () => {
    for (const front of await fronts()) {
      const ws = await raw(front.port, 'GET /chat HTTP/1.1\r\nHost: greeter\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      expect(ws, front.name).toMatch(/^HTTP\/1\.1 200/);
      expect(ws, front.name).toMatch(/connection: close/i);
      expect(await rejected(front.runtime, front.name, 'upgrade'), front.name).toBe(0);
      expect(front.seen.filter((s) => s.includes('/chat')).length, front.name).toBeGreaterThan(0);
      const h2c = await raw(front.port, 'GET /plain HTTP/1.1\r\nHost: greeter\r\nConnection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n');
      expect(h2c, front.name).toMatch(/^HTTP\/1\.1 200/);
      expect(front.seen.filter((s) => s.includes('/plain')).length, front.name).toBeGreaterThan(0);
    }
  });

  it('refuses an upgrade that also announces a body, since the tunnel would be the body', async () => {
    for (const front of await fronts()) {
      const reply = await raw(front.port, 'POST /up HTTP/1.1\r\nHost: greeter\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 5\r\n\r\nhello');
      expect(reply, front.name).toMatch(/^HTTP\/1\.1 400/);
      expect(reply, front.name).toMatch(/x-weft-error: BAD_REQUEST/i);
      expect(front.seen.filter((s) => s.includes('/up')), front.name).toEqual([]);
    }
  });

  it('refuses CONNECT with 501 NOT_IMPLEMENTED rather than a silently closed socket', async () => {
    for (const front of await fronts()) {
      const reply = await raw(front.port, 'CONNECT greeter:443 HTTP/1.1\r\nHost: greeter:443\r\n\r\n');
      expect(reply, front.name).toMatch(/^HTTP\/1\.1 501/);
      expect(reply, front.name).toMatch(/x-weft-error: NOT_IMPLEMENTED/i);
      expect(await rejected(front.runtime, front.name, 'connect'), front.name).toBe(1);
    }
  });

  it('survives a client that resets its connection right after CONNECT or a malformed head', async () => {
    for (const front of await fronts()) {
      for (const head of ['CONNECT greeter:443 HTTP/1.1\r\nHost: greeter:443\r\n\r\n', 'GET / HTTP/1.1\r\nHost greeter\r\n\r\n']) {
        for (let i = 0; i < 5; i++) {
          await new Promise<void>((resolve) => {
            const socket = net.connect(front.port, '127.0.0.1', () => {
              socket.write(head);
              // An RST rather than a FIN: the server's write of its answer then fails with ECONNRESET or EPIPE.
              setTimeout(() => socket.resetAndDestroy(), i);
            });
            socket.on('error', () => {});
            socket.on('close', () => resolve());
          });
        }
      }
      await new Promise((r) => setTimeout(r, 50));
      expect((await send(front.port)).status, front.name).toBe(200);
    }
  });

  it('closes the connection after an ignored h2c upgrade offer, so no pipelined request is left unanswered', async () => {
    for (const front of await fronts()) {
      const reply = await raw(front.port, 'GET /first HTTP/1.1\r\nHost: greeter\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\nGET /second HTTP/1.1\r\nHost: greeter\r\n\r\n');
      expect(reply, front.name).toMatch(/^HTTP\/1\.1 200/);
      expect(reply, front.name).toMatch(/connection: close/i);
      expect(front.seen.some((s) => s.includes('/second')), front.name).toBe(false);
    }
  });

  it('serves an HTTP/2 client with prior knowledge on the same port as HTTP/1.1, refusing nothing', async () => {
    for (const front of await fronts()) {
      const outcome = await new Promise<{ status?: number; body?: string; error?: string }>((resolve) => {
        const session = http2.connect(`http://127.0.0.1:${front.port}`);
        const timer = setTimeout(() => {
          session.destroy();
          resolve({ error: 'no answer' });
        }, 3_000);
        session.on('error', (err) => {
          clearTimeout(timer);
          resolve({ error: err.message });
        });
        const req = session.request({ ':path': '/h2', ':authority': 'greeter' });
        let status = 0;
        let body = '';
        req.on('response', (headers) => (status = Number(headers[':status'])));
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          clearTimeout(timer);
          session.close();
          resolve({ status, body });
        });
        req.on('error', (err) => resolve({ error: err.message }));
        req.end();
      });
      expect(outcome, front.name).toEqual({ status: 200, body: 'ok' });
      expect(front.seen.at(-1), front.name).toBe('GET /h2 host=greeter');
      expect(await rejected(front.runtime, front.name, 'http2_prior_knowledge'), front.name).toBe(0);
    }
  });

  it('tells an HTTP/2 client with prior knowledge HTTP_1_1_REQUIRED in a GOAWAY where only HTTP/1.1 is spoken (the admin listener)', async () => {
    const runtime = quietRuntime();
    const admin = createAdminServer({ runtime, snapshots: snapshotsOf([]), ready: () => ({ ready: true }) });
    const { port } = await admin.listen('127.0.0.1', 0);
    cleanups.push(() => admin.close());
    const outcome = await new Promise<{ code?: number; error?: string }>((resolve) => {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      const timer = setTimeout(() => {
        session.destroy();
        resolve({ error: 'no answer' });
      }, 3_000);
      session.on('goaway', (code) => {
        clearTimeout(timer);
        session.destroy();
        resolve({ code });
      });
      session.on('error', (err) => {
        clearTimeout(timer);
        resolve({ error: err.message });
      });
      const req = session.request({ ':path': '/', host: 'greeter' });
      req.on('error', () => {});
      req.end();
    });
    expect(outcome).toEqual({ code: HTTP_1_1_REQUIRED });
    expect(await rejected(runtime, 'admin', 'http2_prior_knowledge')).toBe(1);
  });

  it("answers Node's own refusals with weft's JSON and header, and counts them by reason", async () => {
    for (const front of await fronts()) {
      const garbage = await raw(front.port, 'GET / HTTP/1.1\r\nHost greeter\r\n\r\n');
      expect(garbage, front.name).toMatch(/^HTTP\/1\.1 400/);
      expect(garbage, front.name).toMatch(/x-weft-error: BAD_REQUEST/i);
      const huge = await raw(front.port, `GET / HTTP/1.1\r\nHost: greeter\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      expect(huge, front.name).toMatch(/^HTTP\/1\.1 431/);
      expect(await rejected(front.runtime, front.name, 'bad_request'), front.name).toBe(1);
      expect(await rejected(front.runtime, front.name, 'headers_too_large'), front.name).toBe(1);
      // The listener is still up and serving.
      expect((await send(front.port)).status, front.name).toBe(200);
    }
  });

  it('sends the absolute-form target\'s authority as Host, not the Host the client sent (RFC 9112 3.2.2)', async () => {
    const [outbound, inbound] = await fronts();
    await send(outbound!.port, { host: 'elsewhere', path: 'http://greeter.weft:8080/hello?x=1' });
    await send(inbound!.port, { host: 'elsewhere', path: 'http://greeter.internal:9000/there' });
    expect(outbound!.seen).toEqual(['GET /hello?x=1 host=greeter.weft:8080', 'GET /there host=greeter.internal:9000']);
  });
});
