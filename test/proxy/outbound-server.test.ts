import http from 'node:http';
import { createHash } from 'node:crypto';
import { afterEach, describe, it, expect } from 'vitest';
import { createOutboundServer, type OutboundServerOptions } from '../../src/proxy/outbound-server.js';
import type { ProxyServer } from '../../src/proxy/drain.js';
import { closedPort, instance, namedUpstream, quietRuntime, send, snapshotsOf, startServer, until, type TestServer } from './request-path-fixtures.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function upstream(server: Promise<TestServer>): Promise<TestServer> {
  const s = await server;
  cleanups.push(() => s.close());
  return s;
}

async function outbound(options: Omit<OutboundServerOptions, 'runtime'> & { runtime?: OutboundServerOptions['runtime'] }): Promise<{ proxy: ProxyServer; port: number }> {
  const proxy = createOutboundServer({ runtime: quietRuntime(), ...options });
  const { port } = await proxy.listen('127.0.0.1', 0);
  cleanups.push(() => proxy.close(0));
  return { proxy, port };
}

describe('outbound server: routing', () => {
  it('routes every Host form of a service to it', async () => {
    const a = await upstream(namedUpstream('a'));
    const { port } = await outbound({ snapshots: snapshotsOf([instance('greeter-a', a.port)]) });
    for (const host of ['greeter', 'greeter.weft', 'GREETER:8080', 'greeter.weft:8080', 'Greeter.Weft']) {
      const reply = await send(port, { host, path: '/hello?x=1' });
      expect(reply.status, host).toBe(200);
      expect(reply.body).toBe('a GET /hello?x=1 ');
    }
  });

  it('accepts absolute-form targets from clients that use it as an HTTP proxy', async () => {
    const a = await upstream(namedUpstream('a'));
    const { port } = await outbound({ snapshots: snapshotsOf([instance('greeter-a', a.port)]) });
    const reply = await send(port, { host: 'elsewhere', path: 'http://greeter.weft:8080/hello?x=1' });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('a GET /hello?x=1 ');
  });

  it('answers 503 NO_ENDPOINTS in JSON for an unknown service', async () => {
    const { port } = await outbound({ snapshots: snapshotsOf([]) });
    const reply = await send(port, { host: 'nosuch.weft:80' });
    expect(reply.status).toBe(503);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.headers['x-weft-error']).toBe('NO_ENDPOINTS');
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'NO_ENDPOINTS', service: 'nosuch' });
  });

  it('answers 503 NO_ENDPOINTS when no endpoint is passing', async () => {
    const a = await upstream(namedUpstream('a'));
    const { port } = await outbound({ snapshots: snapshotsOf([instance('greeter-a', a.port, { health: 'critical' })]) });
    const reply = await send(port);
    expect(reply.status).toBe(503);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'NO_ENDPOINTS', service: 'greeter' });
  });

  it('answers 400 MISSING_HOST to a request without Host', async () => {
    const { port } = await outbound({ snapshots: snapshotsOf([]) });
    const net = await import('node:net');
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end('GET / HTTP/1.0\r\n\r\n'));
      let data = '';
      socket.on('data', (c) => (data += c.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect(raw).toMatch(/x-weft-error: MISSING_HOST/i);
    expect(raw).toContain('"code":"MISSING_HOST"');
  });

  it('answers 400 AMBIGUOUS_HOST to a request with two Host headers, without forwarding it', async () => {
    let reached = 0;
    const a = await upstream(
      startServer((_req, res) => {
        reached++;
        res.end('ok');
      }),
    );
    const { port } = await outbound({ snapshots: snapshotsOf([instance('greeter-a', a.port)]) });
    const net = await import('node:net');
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end('GET / HTTP/1.1\r\nHost: greeter\r\nHost: other\r\nConnection: close\r\n\r\n'));
      let data = '';
      socket.on('data', (c) => (data += c.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect(raw).toContain('"code":"AMBIGUOUS_HOST"');
    expect(reached).toBe(0);
  });

  it('spreads 300 requests exactly 100/100/100 under round-robin, over pooled connections', async () => {
    const servers = await Promise.all(['a', 'b', 'c'].map((n) => upstream(namedUpstream(n))));
    const connections: number[] = [0, 0, 0];
    servers.forEach((s, i) => s.server.on('connection', () => connections[i]!++));
    const { port } = await outbound({ snapshots: snapshotsOf(servers.map((s, i) => instance(`greeter-${i}`, s.port))) });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    cleanups.push(async () => agent.destroy());
    const seen = new Map<string, number>();
    for (let round = 0; round < 30; round++) {
      const replies = await Promise.all(Array.from({ length: 10 }, () => send(port, { agent })));
      for (const r of replies) seen.set(r.headers['x-upstream'] as string, (seen.get(r.headers['x-upstream'] as string) ?? 0) + 1);
    }
    expect(Object.fromEntries(seen)).toEqual({ a: 100, b: 100, c: 100 });
    // Keep-alive pools: far fewer connections than requests.
    for (const n of connections) expect(n).toBeLessThan(50);
  });

  it('sends requests to the least busy endpoint under least-connections', async () => {
    const held: http.ServerResponse[] = [];
    const slow = await upstream(startServer((_req, res) => void held.push(res)));
    const fast = await upstream(namedUpstream('fast'));
    const { proxy, port } = await outbound({
      snapshots: snapshotsOf([instance('greeter-a-slow', slow.port), instance('greeter-b-fast', fast.port)]),
      balancers: { greeter: 'least-connections' },
    });
    // The first request lands on the slow endpoint and stays there; every later one avoids it.
    const pending = send(port, { path: '/held' });
    await until(() => held.length === 1 && proxy.inFlight() === 1);
    for (let i = 0; i < 6; i++) expect((await send(port)).headers['x-upstream']).toBe('fast');
    held[0]!.end('released');
    expect((await pending).body).toBe('released');
  });

  it('takes snapshot updates into account on the next request', async () => {
    const a = await upstream(namedUpstream('a'));
    const b = await upstream(namedUpstream('b'));
    const snapshots = snapshotsOf([instance('greeter-a', a.port)]);
    const { port } = await outbound({ snapshots });
    expect((await send(port)).headers['x-upstream']).toBe('a');
    snapshots.set([instance('greeter-b', b.port)]);
    for (let i = 0; i < 4; i++) expect((await send(port)).headers['x-upstream']).toBe('b');
    snapshots.set([instance('greeter-a', a.port), instance('greeter-b', b.port, { health: 'critical' })]);
    for (let i = 0; i < 4; i++) expect((await send(port)).headers['x-upstream']).toBe('a');
    snapshots.set([]);
    expect((await send(port)).status).toBe(503);
  });
});

describe('outbound server: streaming', () => {
  it('streams a multi-megabyte body both ways without buffering it whole', async () => {
    // The upstream sends headers and a first chunk before reading the body, then echoes the body chunk by chunk.
    const echo = await upstream(
      startServer((req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write('start\n');
        req.pipe(res);
      }),
    );
    const { port } = await outbound({ snapshots: snapshotsOf([instance('greeter-echo', echo.port)]) });
    const chunk = Buffer.alloc(64 * 1024, 7);
    const total = 64; // 4 MiB
    const received = createHash('sha256');
    let receivedBytes = 0;
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/echo', agent: false, headers: { host: 'greeter' } });
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
    });
    req.write(chunk);
    // The response (with the first chunk) arrives while most of the request body is still unsent.
    const res = await response;
    expect(res.statusCode).toBe(200);
    const ended = new Promise<void>((resolve, reject) => {
      res.on('data', (c: Buffer) => {
        received.update(c);
        receivedBytes += c.length;
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
    await until(() => receivedBytes > 0);
    for (let i = 1; i < total; i++) {
      if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
    }
    req.end();
    await ended;
    expect(receivedBytes).toBe(6 + total * chunk.length);
    const expected = createHash('sha256').update('start\n');
    for (let i = 0; i < total; i++) expected.update(chunk);
    expect(received.digest('hex')).toBe(expected.digest('hex'));
  });
});

describe('outbound server: response backpressure', () => {
  it('stops reading from the upstream while the client does not read', async () => {
    const total = 32 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 3);
    let written = 0;
    const big = await upstream(
      startServer(async (_req, res) => {
        res.writeHead(200, { 'content-length': String(total) });
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
        }
        res.end();
      }),
    );
    const { port } = await outbound({ snapshots: snapshotsOf([instance('greeter-big', big.port)]) });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, agent: false, headers: { host: 'greeter' } }, resolve).on('error', reject);
    });
    res.pause();
    // While the client reads nothing, the upstream gets stuck once the socket buffers on the way are full.
    let previous = -1;
    for (let i = 0; i < 100 && written !== previous; i++) {
      previous = written;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(written).toBeLessThan(total / 2);
    let received = 0;
    res.on('data', (c: Buffer) => (received += c.length));
    res.resume();
    await new Promise((resolve) => res.on('end', resolve));
    expect(received).toBe(total);
  });
});

describe('outbound server: request backpressure', () => {
  it('stops reading the client body while the upstream does not read', async () => {
    const total = 32 * 1024 * 1024;
    let upstreamReq: http.IncomingMessage | null = null;
    let received = 0;
    const sink = await upstream(
      startServer((req, res) => {
        upstreamReq = req;
        req.pause();
        req.on('data', (c: Buffer) => (received += c.length));
        req.on('end', () => res.end(String(received)));
      }),
    );
    const { port } = await outbound({ snapshots: snapshotsOf([instance('greeter-sink', sink.port)]) });
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', agent: false, headers: { host: 'greeter' } });
    const reply = new Promise<string>((resolve, reject) => {
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
    });
    const chunk = Buffer.alloc(64 * 1024, 5);
    let written = 0;
    let stuck = false;
    // Write until the client itself is held back for a while: the proxy stopped reading.
    for (let i = 0; i < total / chunk.length; i++) {
      written += chunk.length;
      if (!req.write(chunk)) {
        const drained = await Promise.race([new Promise((r) => req.once('drain', () => r(true))), new Promise((r) => setTimeout(() => r(false), 1000))]);
        if (!drained) {
          stuck = true;
          break;
        }
      }
    }
    expect(stuck).toBe(true);
    expect(written).toBeLessThan(total / 2);
    upstreamReq!.resume();
    await new Promise((r) => req.once('drain', r));
    for (let i = written / chunk.length; i < total / chunk.length; i++) {
      if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
    }
    req.end();
    expect(await reply).toBe(String(total));
  });
});

describe('outbound server: failures and retries', () => {
  it('retries a POST on another endpoint when the first refuses connections', async () => {
    const b = await upstream(namedUpstream('b'));
    const dead = await closedPort();
    const runtime = quietRuntime();
    const { port } = await outbound({ runtime, snapshots: snapshotsOf([instance('greeter-a', dead), instance('greeter-b', b.port)]) });
    for (let i = 0; i < 6; i++) {
      const reply = await send(port, { method: 'POST', body: `payload-${i}` });
      expect(reply.status).toBe(200);
      expect(reply.body).toBe(`b POST / payload-${i}`);
    }
    // Every request first meets the refusing endpoint: its retry moves the shared round-robin cursor past it.
    const metrics = await runtime.metrics.metrics();
    expect(metrics).toMatch(/weft_proxy_retries_total\{service="greeter",reason="connect_failed"\} 6/);
  });

  it('retries on another instance when a peer sidecar reports its app unavailable', async () => {
    const { createInboundServer } = await import('../../src/proxy/inbound-server.js');
    const peer = createInboundServer({ runtime: quietRuntime(), appPort: await closedPort(), service: 'greeter' });
    const peerAddress = await peer.listen('127.0.0.1', 0);
    cleanups.push(() => peer.close(0));
    const b = await upstream(namedUpstream('b'));
    const runtime = quietRuntime();
    const { port } = await outbound({ runtime, snapshots: snapshotsOf([instance('greeter-a', peerAddress.port), instance('greeter-b', b.port)]) });
    for (let i = 0; i < 4; i++) {
      const reply = await send(port, { method: 'POST', body: `p${i}` });
      expect(reply.status).toBe(200);
      expect(reply.body).toBe(`b POST / p${i}`);
    }
    expect(await runtime.metrics.metrics()).toMatch(/weft_proxy_retries_total\{service="greeter",reason="app_unavailable"\} 4/);
  });

  it('retries a large streamed POST after a connect failure: its body was never read', async () => {
    const counter = await upstream(
      startServer((req, res) => {
        let n = 0;
        req.on('data', (c: Buffer) => (n += c.length));
        req.on('end', () => res.end(String(n)));
      }),
    );
    const dead = await closedPort();
    const { port } = await outbound({ snapshots: snapshotsOf([instance('greeter-a', dead), instance('greeter-b', counter.port)]) });
    const body = Buffer.alloc(1024 * 1024, 1);
    const reply = await send(port, { method: 'POST', body, headers: { 'transfer-encoding': 'chunked' } });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe(String(body.length));
  });

  it('answers 503 CONNECT_FAILED when every endpoint refuses', async () => {
    const dead = await closedPort();
    const { port } = await outbound({ snapshots: snapshotsOf([instance('greeter-a', dead)]) });
    const reply = await send(port, { method: 'POST', body: 'x' });
    expect(reply.status).toBe(503);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'CONNECT_FAILED' });
  });

  it('retries a GET after a reset, but not a POST', async () => {
    const resetter = await upstream(startServer((req) => req.socket.destroy()));
    const b = await upstream(namedUpstream('b'));
    const snapshots = () => snapshotsOf([instance('greeter-a', resetter.port), instance('greeter-b', b.port)]);
    // A fresh server starts its round-robin at greeter-a, the resetting endpoint.
    const get = await outbound({ snapshots: snapshots() });
    const ok = await send(get.port, { method: 'GET', path: '/again' });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('b GET /again ');

    const put = await outbound({ snapshots: snapshots() });
    const replayed = await send(put.port, { method: 'PUT', body: 'small body' });
    expect(replayed.status).toBe(200);
    expect(replayed.body).toBe('b PUT / small body');

    const post = await outbound({ snapshots: snapshots() });
    const failed = await send(post.port, { method: 'POST', body: 'once only' });
    expect(failed.status).toBe(502);
    expect(failed.headers['x-weft-error']).toBe('UPSTREAM_RESET');
    expect(JSON.parse(failed.body)).toMatchObject({ code: 'UPSTREAM_RESET' });
  });

  it('retries a GET reset on a kept-alive connection after the request was written', async () => {
    // Every second request on a connection is met with a reset: the first one leaves the connection pooled.
    const flaky = await upstream(
      startServer((req, res) => {
        const socket = req.socket as typeof req.socket & { served?: number };
        socket.served = (socket.served ?? 0) + 1;
        if (socket.served > 1) socket.destroy();
        else res.end('flaky');
      }),
    );
    const b = await upstream(namedUpstream('b'));
    const runtime = quietRuntime();
    const { port } = await outbound({ runtime, snapshots: snapshotsOf([instance('greeter-a', flaky.port), instance('greeter-b', b.port)]) });
    // Round-robin: a, b, a (reused connection, reset, retried on b), ...
    expect((await send(port)).body).toBe('flaky');
    expect((await send(port)).body).toBe('b GET / ');
    const retried = await send(port, { path: '/again' });
    expect(retried.status).toBe(200);
    expect(retried.body).toBe('b GET /again ');
    expect(await runtime.metrics.metrics()).toMatch(/weft_proxy_retries_total\{service="greeter",reason="reset"\} 1/);
  });

  it('answers 504 UPSTREAM_TIMEOUT when no response headers arrive in time', async () => {
    const silent = await upstream(startServer(() => {}));
    const { port } = await outbound({ snapshots: snapshotsOf([instance('greeter-a', silent.port)]), responseTimeoutMs: 200 });
    const reply = await send(port);
    expect(reply.status).toBe(504);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'UPSTREAM_TIMEOUT', timeoutMs: 200 });
  });

  it('counts the response timeout from the end of the request body, and not after an early answer', async () => {
    // The upstream answers 413 at once, before the body ends; the body then trickles in past the timeout.
    const early = await upstream(
      startServer((req, res) => {
        res.writeHead(413, { 'content-type': 'text/plain' });
        res.write('too large');
        req.on('end', () => res.end(' (read anyway)'));
        req.resume();
      }),
    );
    const { port } = await outbound({ snapshots: snapshotsOf([instance('greeter-a', early.port)]), responseTimeoutMs: 150 });
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', agent: false, headers: { host: 'greeter' } });
    const reply = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    for (let i = 0; i < 4; i++) {
      req.write('x'.repeat(1000));
      await new Promise((r) => setTimeout(r, 100));
    }
    req.end();
    expect(await reply).toEqual({ status: 413, body: 'too large (read anyway)' });
  });

  it('answers 502 UPSTREAM_PROTOCOL_ERROR to a response it cannot pass on', async () => {
    const net = await import('node:net');
    const bad = net.createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 000 Zero\r\ncontent-length: 0\r\n\r\n'));
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => bad.close(() => r())));
    const { port } = await outbound({ snapshots: snapshotsOf([instance('greeter-a', (bad.address() as { port: number }).port)]) });
    const reply = await send(port);
    expect(reply.status).toBe(502);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'UPSTREAM_PROTOCOL_ERROR' });
    const garbage = net.createServer((socket) => {
      socket.once('data', () => socket.end('NOT HTTP AT ALL\r\n\r\n'));
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => garbage.close(() => r())));
    const second = await outbound({ snapshots: snapshotsOf([instance('greeter-b', (garbage.address() as { port: number }).port)]) });
    const parsed = await send(second.port, { method: 'POST', body: 'x' });
    expect(parsed.status).toBe(502);
    expect(JSON.parse(parsed.body)).toMatchObject({ code: 'UPSTREAM_PROTOCOL_ERROR' });
  });

  it('answers 502 UPSTREAM_PROTOCOL_ERROR to a head the client side cannot be given (a control byte in the reason or a header name)', async () => {
    const net = await import('node:net');
    const heads = ['HTTP/1.1 200 O\x01K\r\ncontent-length: 2\r\n\r\nok', 'HTTP/1.1 200 OK\r\nx\x7f: 1\r\ncontent-length: 2\r\n\r\nok'];
    for (const head of heads) {
      const bad = net.createServer((socket) => {
        socket.once('data', () => socket.end(head, 'latin1'));
        socket.on('error', () => {});
      });
      await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
      cleanups.push(() => new Promise<void>((r) => bad.close(() => r())));
      const { port } = await outbound({ snapshots: snapshotsOf([instance('greeter-a', (bad.address() as { port: number }).port)]), maxAttempts: 1 });
      const reply = await send(port);
      expect(reply.status, JSON.stringify(head)).toBe(502);
      expect(JSON.parse(reply.body)).toMatchObject({ code: 'UPSTREAM_PROTOCOL_ERROR' });
    }
  });

  it('passes over an interim 103 Early Hints and forwards the final response', async () => {
    const net = await import('node:net');
    const hinting = net.createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal'));
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => hinting.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => hinting.close(() => r())));
    const { port } = await outbound({ snapshots: snapshotsOf([instance('greeter-a', (hinting.address() as { port: number }).port)]) });
    expect(await send(port)).toMatchObject({ status: 200, body: 'final' });
  });

  it('breaks the client response when the upstream fails after headers', async () => {
    const half = await upstream(
      startServer((_req, res) => {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial');
        setTimeout(() => res.socket?.destroy(), 20);
      }),
    );
    const runtime = quietRuntime();
    const { port } = await outbound({ runtime, snapshots: snapshotsOf([instance('greeter-a', half.port)]) });
    await expect(send(port)).rejects.toThrow();
    let text = '';
    for (let i = 0; i < 200 && !text.includes('code="UPSTREAM_RESET"} 1'); i++) {
      text = await runtime.metrics.metrics();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(text).toContain('weft_proxy_errors_total{direction="outbound",source="_unknown",destination="greeter",code="UPSTREAM_RESET"} 1');
  });

  it('aborts the upstream request when the client goes away', async () => {
    let upstreamClosed = false;
    const slow = await upstream(
      startServer((req) => {
        req.socket.on('close', () => (upstreamClosed = true));
      }),
    );
    const { proxy, port } = await outbound({ snapshots: snapshotsOf([instance('greeter-a', slow.port)]) });
    const req = http.request({ host: '127.0.0.1', port, agent: false, headers: { host: 'greeter' } });
    req.on('error', () => {});
    req.end();
    await until(() => proxy.inFlight() === 1);
    req.destroy();
    await until(() => upstreamClosed && proxy.inFlight() === 0);
  });
});

describe('outbound server: drain', () => {
  it('lets an in-flight slow request finish on close', async () => {
    const slow = await upstream(
      startServer((_req, res) => {
        setTimeout(() => res.end('late'), 300);
      }),
    );
    const proxy = createOutboundServer({ runtime: quietRuntime(), snapshots: snapshotsOf([instance('greeter-a', slow.port)]) });
    const { port } = await proxy.listen('127.0.0.1', 0);
    const pending = send(port);
    await until(() => proxy.inFlight() === 1);
    const closing = proxy.close(10_000);
    const reply = await pending;
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('late');
    await closing;
    expect(proxy.inFlight()).toBe(0);
    await expect(send(port)).rejects.toThrow();
  });

  it('cuts requests still running when the drain time is over', async () => {
    const silent = await upstream(startServer(() => {}));
    const proxy = createOutboundServer({ runtime: quietRuntime(), snapshots: snapshotsOf([instance('greeter-a', silent.port)]) });
    const { port } = await proxy.listen('127.0.0.1', 0);
    const pending = send(port);
    await until(() => proxy.inFlight() === 1);
    await proxy.close(100);
    await expect(pending).rejects.toThrow();
  });
});
