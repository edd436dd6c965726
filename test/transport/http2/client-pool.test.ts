// Tests for the HTTP/2 client pool of one endpoint: one session for many streams, another only when the peer's stream limit is reached, GOAWAY, refused streams, timeouts.
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/index.js';
import { Http2EndpointPool } from '../../../src/transport/index.js';
import { meshRequest, RecordingHandler } from '../../support/request-path-kit.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface H2Server {
  port: number;
  sessions: number;
  server: http2.Http2Server;
}

/** An h2c server that answers each stream after `delayMs` with its path; `settings` are what it announces. */
async function h2Server(delayMs: number, settings: http2.Settings = {}): Promise<H2Server> {
  const server = http2.createServer({ settings });
  const out: H2Server = { port: 0, sessions: 0, server };
  const open = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    out.sessions++;
    open.add(session);
    session.on('close', () => open.delete(session));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    setTimeout(() => {
      if (stream.destroyed) return;
      stream.respond({ ':status': 200 });
      stream.end(String(headers[':path']));
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  out.port = (server.address() as AddressInfo).port;
  cleanups.push(() => {
    for (const session of open) session.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return out;
}

function poolTo(port: number): Http2EndpointPool {
  const pool = new Http2EndpointPool({ host: '127.0.0.1', port, address: `127.0.0.1:${port}` });
  cleanups.push(() => pool.destroy());
  return pool;
}

function call(pool: Http2EndpointPool, path: string, timeoutMs = 0): RecordingHandler {
  const handler = new RecordingHandler();
  const req = meshRequest({ clock: systemClock, path });
  req.attemptTimeoutMs = timeoutMs;
  pool.dispatch(req, handler);
  return handler;
}

describe('HTTP/2 endpoint pool', () => {
  it('carries concurrent requests as streams of one session', async () => {
    const server = await h2Server(20);
    const pool = poolTo(server.port);
    const handlers = Array.from({ length: 40 }, (_, i) => call(pool, `/${i}`));
    await Promise.all(handlers.map((h) => h.done));
    expect(handlers.every((h) => h.ends === 1)).toBe(true);
    expect(server.sessions).toBe(1);
    expect(pool.size()).toBe(1);
  });

  it("opens another session only when every session holds as many streams as the peer allows", async () => {
    const server = await h2Server(200, { maxConcurrentStreams: 2 });
    const pool = poolTo(server.port);
    // The first session's SETTINGS must have arrived for its limit to be known.
    await call(pool, '/warm').done;
    const handlers = Array.from({ length: 5 }, (_, i) => call(pool, `/${i}`));
    await Promise.all(handlers.map((h) => h.done));
    expect(handlers.every((h) => h.ends === 1)).toBe(true);
    expect(server.sessions).toBe(3);
  });

  it('reports a response cut off by the endpoint session dying as a reset, never as a whole response', async () => {
    const server = http2.createServer();
    server.on('stream', (stream) => {
      stream.on('error', () => {});
      stream.respond({ ':status': 200 });
      stream.write('first half;');
      setTimeout(() => stream.session?.destroy(), 50);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const handler = call(poolTo((server.address() as AddressInfo).port), '/cut');
    await handler.done;
    expect(handler.ends).toBe(0);
    expect(handler.lastError?.code).toBe('UPSTREAM_RESET');
  });

  it('fails a request whose response head does not come in time, and keeps the session for others', async () => {
    const server = await h2Server(300);
    const pool = poolTo(server.port);
    const slow = call(pool, '/slow', 50);
    await slow.done;
    expect(slow.lastError?.code).toBe('UPSTREAM_TIMEOUT');
    const next = call(pool, '/next', 2_000);
    await next.done;
    expect(next.ends).toBe(1);
    expect(server.sessions).toBe(1);
  });

  it('answers CONNECT_FAILED when nothing listens, and sends new streams to a fresh session after GOAWAY', async () => {
    const closed = await h2Server(0);
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    const refused = call(poolTo(closed.port), '/');
    await refused.done;
    expect(refused.lastError?.code).toBe('CONNECT_FAILED');

    const server = await h2Server(10);
    const pool = poolTo(server.port);
    await call(pool, '/first').done;
    const sessions = new Set<http2.ServerHttp2Session>();
    server.server.on('session', (s) => sessions.add(s));
    // The server says it is going away on the session it has.
    await new Promise<void>((resolve) => {
      server.server.once('stream', (stream) => {
        stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR);
        resolve();
      });
      call(pool, '/second');
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const third = call(pool, '/third');
    await third.done;
    expect(third.ends).toBe(1);
    expect(server.sessions).toBe(2);
  });
});
