// Tests for the HTTP/1.1 client side (endpoint pool, connection, attempt) against raw sockets on 127.0.0.1 that answer byte for byte.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../src/core/index.js';
import { EndpointPool } from '../../src/transport/index.js';
import { FakeBody, meshRequest, RecordingHandler } from '../support/request-path-kit.js';
import type { RequestBody } from '../../src/http/index.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

interface RawServer {
  readonly port: number;
  /** Bytes of each connection's requests so far. */
  readonly received: string[];
  connections: number;
}

/** A server that writes `reply(request, connectionIndex)` once a request head has arrived on a connection. */
async function rawServer(reply: (request: string, socket: net.Socket) => void): Promise<RawServer> {
  const state: RawServer = { port: 0, received: [], connections: 0 };
  const server = net.createServer((socket) => {
    const index = state.connections++;
    state.received[index] = '';
    socket.on('data', (data) => {
      state.received[index] += data.toString('latin1');
      const text = state.received[index]!;
      if (text.includes('\r\n\r\n')) reply(text, socket);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return Object.assign(state, { port: (server.address() as AddressInfo).port });
}

function poolFor(port: number, clock = systemClock): EndpointPool {
  const pool = new EndpointPool({ host: '127.0.0.1', port, address: `127.0.0.1:${port}` }, { clock });
  closers.push(() => pool.destroy());
  return pool;
}

async function call(pool: EndpointPool, options: { method?: string; body?: RequestBody | null; headers?: Record<string, string> } = {}): Promise<RecordingHandler> {
  const handler = new RecordingHandler();
  pool.dispatch(meshRequest({ clock: systemClock, method: options.method, body: options.body ?? null, headers: options.headers ?? { host: 'svc' } }), handler);
  await handler.done;
  return handler;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** A RequestBody over a stream of chunks, as the server exchange hands one out. */
function streamedBody(chunks: string[]): RequestBody {
  let complete = false;
  return {
    get complete() {
      return complete;
    },
    state: () => 'untouched',
    open: () => Readable.from(chunks.map((c) => Buffer.from(c))).on('end', () => (complete = true)),
    release: () => {},
    discard: () => {},
  };
}

describe('HTTP/1.1 client side', () => {
  it('passes a chunked body and its trailers on, and keeps the connection for the next request', async () => {
    const server = await rawServer((_req, socket) => {
      socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: grpc-status\r\n\r\n5\r\nhello\r\n6;x=1\r\n world\r\n0\r\ngrpc-status: 0\r\n\r\n');
    });
    const pool = poolFor(server.port);
    const first = await call(pool);
    expect(first.trace).toEqual(['start 200', 'data', 'data', 'end']);
    expect(first.body).toBe('hello world');
    expect(first.events.at(-1)).toEqual({ kind: 'end', trailers: ['grpc-status', '0'] });
    // Hop-by-hop headers stay on this hop.
    expect(first.events[0]).toMatchObject({ headers: [] });
    expect(pool.sockets()).toEqual([0, 1]);
    // The server answers each head it sees; reset its buffer so the second request is answered once.
    server.received[0] = '';
    expect((await call(pool)).body).toBe('hello world');
    expect(server.connections).toBe(1);
  });

  it('closes a connection the server says it will close, and one whose response is delimited by the close', async () => {
    const server = await rawServer((_req, socket) => {
      socket.end('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok');
    });
    const pool = poolFor(server.port);
    expect((await call(pool)).body).toBe('ok');
    expect(pool.sockets()).toEqual([0, 0]);
    const eof = await rawServer((_req, socket) => socket.end('HTTP/1.1 200 OK\r\n\r\nuntil close'));
    const byClose = await call(poolFor(eof.port));
    expect(byClose.trace).toEqual(['start 200', 'data', 'end']);
    expect(byClose.body).toBe('until close');
  });

  it('honours a Keep-Alive hint shorter than its own idle time, closing its side first', async () => {
    const server = await rawServer((_req, socket) => socket.write('HTTP/1.1 204 No Content\r\nkeep-alive: timeout=1\r\n\r\n'));
    const pool = poolFor(server.port);
    expect((await call(pool)).status).toBe(204);
    // One second less a margin leaves nothing worth keeping.
    expect(pool.sockets()).toEqual([0, 0]);
  });

  it('closes idle connections after its idle time, and forgets one the server closed', async () => {
    const server = await rawServer((_req, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
    const pool = new EndpointPool({ host: '127.0.0.1', port: server.port, address: 'a' }, { idleTimeoutMs: 400 });
    closers.push(() => pool.destroy());
    await call(pool);
    expect(pool.sockets()).toEqual([0, 1]);
    await until(() => pool.sockets()[1] === 0);
    expect(pool.sockets()).toEqual([0, 0]);

    let client: net.Socket | undefined;
    const closing = await rawServer((_req, socket) => {
      client = socket;
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
    });
    const other = poolFor(closing.port);
    await call(other);
    expect(other.sockets()).toEqual([0, 1]);
    client!.end();
    await until(() => other.sockets()[1] === 0);
    expect(other.sockets()).toEqual([0, 0]);
  });

  it('tells a broken response apart: bytes that are no HTTP are a protocol error, a close mid-body a reset', async () => {
    const garbage = await rawServer((_req, socket) => socket.write('SSH-2.0-OpenSSH_9.6\r\n'));
    expect((await call(poolFor(garbage.port))).trace).toEqual(['error UPSTREAM_PROTOCOL_ERROR']);
    const folded = await rawServer((_req, socket) => socket.write('HTTP/1.1 200 OK\r\nx: a\r\n b\r\ncontent-length: 0\r\n\r\n'));
    expect((await call(poolFor(folded.port))).trace).toEqual(['error UPSTREAM_PROTOCOL_ERROR']);
    const short = await rawServer((_req, socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
    expect((await call(poolFor(short.port))).trace).toEqual(['start 200', 'data', 'error UPSTREAM_RESET']);
    const silent = await rawServer((_req, socket) => socket.end());
    expect((await call(poolFor(silent.port))).trace).toEqual(['error UPSTREAM_RESET']);
    const switching = await rawServer((_req, socket) => socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n'));
    expect((await call(poolFor(switching.port))).trace).toEqual(['error UPSTREAM_PROTOCOL_ERROR']);
  });

  it('passes over interim responses and waits for the final one', async () => {
    const server = await rawServer((_req, socket) => socket.write('HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx'));
    expect((await call(poolFor(server.port))).trace).toEqual(['start 200', 'data', 'end']);
  });

  it('refuses to write a request that would not be the one the stages meant, and keeps the connection', async () => {
    const server = await rawServer((_req, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
    const pool = poolFor(server.port);
    await call(pool);
    const handler = await call(pool, { headers: { host: 'svc', 'x-bad': 'a\r\nInjected: 1' } });
    expect(handler.trace).toEqual(['error INTERNAL']);
    expect(pool.sockets()).toEqual([0, 1]);
    expect(server.received[0]).not.toContain('Injected');
  });

  it('sends a kept body with its length and a streamed one chunked, which a node:http server reads whole', async () => {
    const bodies: string[] = [];
    const server = http.createServer((req, res) => {
      let text = `${req.headers['transfer-encoding'] ?? 'length ' + req.headers['content-length']}:`;
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        bodies.push(text);
        res.end('done');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => server.close());
    const pool = poolFor((server.address() as AddressInfo).port);
    const kept = new FakeBody(Buffer.from('kept body'));
    expect((await call(pool, { method: 'POST', body: kept })).body).toBe('done');
    expect((await call(pool, { method: 'POST', body: streamedBody(['one ', 'two ', 'three']) })).body).toBe('done');
    expect(bodies).toEqual(['length 9:kept body', 'chunked:one two three']);
    expect(pool.sockets()).toEqual([0, 1]);
  });

  it('times the response from the end of the request on the pool clock, and closes the connection it gave up', async () => {
    const server = await rawServer(() => {});
    const clock = new ManualClock();
    const pool = poolFor(server.port, clock);
    const handler = new RecordingHandler();
    const req = meshRequest({ clock });
    req.attemptTimeoutMs = 500;
    pool.dispatch(req, handler);
    await until(() => server.received[0] !== undefined && server.received[0].includes('\r\n\r\n'));
    clock.advance(499);
    expect(handler.trace).toEqual([]);
    clock.advance(1);
    expect(handler.trace).toEqual(['error UPSTREAM_TIMEOUT']);
    expect(pool.sockets()).toEqual([0, 0]);
  });

  it('pauses reading while the consumer is full and goes on when it resumes', async () => {
    const big = 'x'.repeat(256 * 1024);
    const server = await rawServer((_req, socket) => socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${big.length}\r\n\r\n${big}`));
    const pool = poolFor(server.port);
    const handler = new RecordingHandler();
    handler.accepting = false;
    pool.dispatch(meshRequest({ clock: systemClock }), handler);
    await until(() => handler.events.some((e) => e.kind === 'data'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const whilePaused = handler.body.length;
    expect(whilePaused).toBeLessThan(big.length);
    handler.accepting = true;
    handler.flow!.resume();
    await handler.done;
    expect(handler.body.length).toBe(big.length);
    expect(pool.sockets()).toEqual([0, 1]);
  });

  it('reads a dropped response to its end and keeps the connection', async () => {
    const server = await rawServer((_req, socket) => {
      socket.write('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbu');
      setTimeout(() => socket.write('sy'), 20);
    });
    const pool = poolFor(server.port);
    const handler = new RecordingHandler();
    pool.dispatch(meshRequest({ clock: systemClock }), handler);
    await until(() => handler.flow !== null);
    handler.flow!.drop();
    await until(() => pool.sockets()[1] === 1);
    expect(pool.sockets()).toEqual([0, 1]);
    expect(handler.finals).toBe(0);
  });

  it('fails requests in flight and those still connecting when the pool is destroyed, and closes every socket', async () => {
    const server = await rawServer((_req, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
    const pool = poolFor(server.port);
    const streaming = new RecordingHandler();
    pool.dispatch(meshRequest({ clock: systemClock }), streaming);
    await until(() => streaming.events.some((e) => e.kind === 'data'));
    const connecting = new RecordingHandler();
    pool.dispatch(meshRequest({ clock: systemClock }), connecting);
    pool.destroy();
    await connecting.done;
    expect(streaming.trace).toEqual(['start 200', 'data', 'error UPSTREAM_RESET']);
    expect(connecting.trace).toEqual(['error CONNECT_FAILED']);
    expect(pool.sockets()).toEqual([0, 0]);
  });

  it('closes each idle connection by its own time, a later one with a shorter Keep-Alive hint first', async () => {
    let answered = 0;
    const server = await rawServer((_req, socket) => {
      // The first connection gets no hint; the second is told the server closes it after 2 s.
      socket.write(answered++ === 0 ? 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n' : 'HTTP/1.1 200 OK\r\nkeep-alive: timeout=2\r\ncontent-length: 0\r\n\r\n');
    });
    const pool = new EndpointPool({ host: '127.0.0.1', port: server.port, address: 'a' }, { idleTimeoutMs: 3_000 });
    closers.push(() => pool.destroy());
    const first = new RecordingHandler();
    const second = new RecordingHandler();
    pool.dispatch(meshRequest({ clock: systemClock }), first);
    pool.dispatch(meshRequest({ clock: systemClock }), second);
    await Promise.all([first.done, second.done]);
    expect(pool.sockets()).toEqual([0, 2]);
    // The hinted one goes after 2 s less the margin; the other stays until its own 3 s.
    await until(() => pool.sockets()[1] < 2);
    expect(pool.sockets()).toEqual([0, 1]);
    expect(server.connections).toBe(2);
  });

  it('keeps no connection after Keep-Alive: timeout=0', async () => {
    const server = await rawServer((_req, socket) => socket.write('HTTP/1.1 200 OK\r\nkeep-alive: timeout=0\r\ncontent-length: 0\r\n\r\n'));
    const pool = poolFor(server.port);
    await call(pool);
    expect(pool.sockets()).toEqual([0, 0]);
  });

  it('survives a handler that throws while given the response: the attempt is given up and reported, the process stays up', async () => {
    const server = await rawServer((_req, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
    const reported: unknown[] = [];
    const pool = new EndpointPool({ host: '127.0.0.1', port: server.port, address: 'a' }, { onHandlerError: (error) => reported.push(error) });
    closers.push(() => pool.destroy());
    for (const where of ['onStart', 'onData', 'onEnd'] as const) {
      const handler = new RecordingHandler();
      handler[where] = () => {
        throw new Error(`${where} threw`);
      };
      pool.dispatch(meshRequest({ clock: systemClock }), handler);
      await until(() => reported.length > 0);
      expect((reported.splice(0)[0] as Error).message).toBe(`${where} threw`);
    }
    // The pool still serves.
    server.received.fill('');
    expect((await call(pool)).body).toBe('ok');
  });

  it('refuses connection-level headers a stage might add, since it frames the request itself', async () => {
    const server = await rawServer((_req, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
    const pool = poolFor(server.port);
    const handler = await call(pool, { headers: { host: 'svc', 'Transfer-Encoding': 'chunked' } });
    expect(handler.trace).toEqual(['error INTERNAL']);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(server.received.join('')).toBe('');
  });
});
