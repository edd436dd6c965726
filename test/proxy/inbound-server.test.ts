import { afterEach, describe, it, expect } from 'vitest';
import { createInboundServer } from '../../src/proxy/inbound-server.js';
import { SERVER_KEEP_ALIVE_TIMEOUT_MS } from '../../src/proxy/drain.js';
import { POOL_DEFAULTS } from '../../src/transport/index.js';
import { closedPort, quietRuntime, send, startServer, type TestServer } from './request-path-fixtures.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function app(handler: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const s = await startServer(handler);
  cleanups.push(() => s.close());
  return s;
}

async function inbound(appPort: number, responseTimeoutMs?: number) {
  const runtime = quietRuntime();
  const server = createInboundServer({ runtime, appPort, service: 'greeter', ...(responseTimeoutMs ? { responseTimeoutMs } : {}) });
  const { port } = await server.listen('127.0.0.1', 0);
  cleanups.push(() => server.close(0));
  return { server, port, runtime };
}

describe('inbound server', () => {
  it('forwards requests to the local app, without hop-by-hop headers, keeping repeated ones', async () => {
    const seen: Record<string, string | string[] | undefined>[] = [];
    const target = await app((req, res) => {
      seen.push(req.headers);
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(201, [
          ['set-cookie', 'a=1'],
          ['set-cookie', 'b=2'],
          ['x-app', 'yes'],
          ['connection', 'keep-alive, x-private'],
          ['x-private', 'hop'],
        ].flat());
        res.end(`${req.method} ${req.url} ${body}`);
      });
    });
    const { port, server, runtime } = await inbound(target.port);
    expect(server.server.keepAliveTimeout).toBe(SERVER_KEEP_ALIVE_TIMEOUT_MS);
    expect(SERVER_KEEP_ALIVE_TIMEOUT_MS).toBeGreaterThan(POOL_DEFAULTS.idleTimeoutMs);
    const reply = await send(port, {
      method: 'PATCH',
      path: '/items/7?q=1',
      body: 'hello',
      headers: { connection: 'keep-alive, x-secret', 'x-secret': 'hop', 'keep-alive': 'timeout=5', 'proxy-authorization': 'x', 'x-end': 'to-end' },
    });
    expect(reply.status).toBe(201);
    expect(reply.body).toBe('PATCH /items/7?q=1 hello');
    expect(reply.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(reply.headers['x-app']).toBe('yes');
    expect(reply.headers['x-private']).toBeUndefined();
    const got = seen[0]!;
    expect(got['x-end']).toBe('to-end');
    expect(got['x-secret']).toBeUndefined();
    expect(got['proxy-authorization']).toBeUndefined();
    expect(got['keep-alive']).toBeUndefined();
    expect(got['host']).toBe('greeter');
    const metrics = await runtime.metrics.metrics();
    expect(metrics).toContain('weft_proxy_requests_total{direction="inbound",source="_unknown",destination="greeter",code="201",classification="success"} 1');
  });

  it('forwards a chunked request body as chunked', async () => {
    const target = await app((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => res.end(`${req.headers['transfer-encoding']} ${body}`));
    });
    const { port } = await inbound(target.port);
    const reply = await send(port, { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: 'abc' });
    expect(reply.body).toBe('chunked abc');
  });

  it('answers Expect: 100-continue itself and sends the app the body without the expectation', async () => {
    const target = await app((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => res.end(`${req.headers.expect ?? 'none'} ${body}`));
    });
    const { port } = await inbound(target.port);
    const http = await import('node:http');
    const reply = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'PUT', agent: false, headers: { host: 'greeter', expect: '100-continue', 'content-length': '5' } });
      req.on('continue', () => req.end('hello'));
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
    });
    expect(reply).toBe('none hello');
  });

  it('passes HEAD and 204 responses through with their framing', async () => {
    const target = await app((req, res) => {
      if (req.url === '/empty') res.writeHead(204).end();
      else res.writeHead(200, { 'content-length': '12', 'content-type': 'text/plain' }).end(req.method === 'HEAD' ? undefined : 'hello world!');
    });
    const { port } = await inbound(target.port);
    const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(async () => agent.destroy());
    const head = await send(port, { method: 'HEAD', agent });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('12');
    expect(head.body).toBe('');
    const empty = await send(port, { path: '/empty', agent });
    expect(empty.status).toBe(204);
    // The same kept-alive connection still frames the next response correctly.
    const get = await send(port, { agent });
    expect(get.body).toBe('hello world!');
  });

  it('answers 503 APP_UNAVAILABLE when the app is down', async () => {
    const { port, runtime } = await inbound(await closedPort());
    const reply = await send(port, { method: 'POST', body: 'x' });
    expect(reply.status).toBe(503);
    expect(reply.headers['x-weft-error']).toBe('APP_UNAVAILABLE');
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'APP_UNAVAILABLE' });
    expect(await runtime.metrics.metrics()).toContain('weft_proxy_errors_total{direction="inbound",source="_unknown",destination="greeter",code="APP_UNAVAILABLE"} 1');
  });

  it('answers 502 UPSTREAM_RESET when the app drops the connection', async () => {
    const target = await app((req) => req.socket.destroy());
    const { port } = await inbound(target.port);
    const reply = await send(port);
    expect(reply.status).toBe(502);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'UPSTREAM_RESET' });
  });

  it('answers 400 AMBIGUOUS_HOST to two Host headers, as the outbound listener does, and the app never sees it', async () => {
    let reached = 0;
    const target = await app((_req, res) => {
      reached++;
      res.end();
    });
    const { port } = await inbound(target.port);
    const net = await import('node:net');
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n'));
      let data = '';
      socket.on('data', (c) => (data += c.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect(raw).toContain('"code":"AMBIGUOUS_HOST"');
    expect(reached).toBe(0);
  });

  it('answers 504 UPSTREAM_TIMEOUT when the app does not answer in time', async () => {
    const target = await app(() => {});
    const { port } = await inbound(target.port, 200);
    const reply = await send(port);
    expect(reply.status).toBe(504);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
  });

  it('drains: an in-flight request finishes on close', async () => {
    const target = await app((_req, res) => setTimeout(() => res.end('done'), 200));
    const runtime = quietRuntime();
    const server = createInboundServer({ runtime, appPort: target.port, service: 'greeter' });
    const { port } = await server.listen('127.0.0.1', 0);
    const pending = send(port);
    for (let i = 0; i < 500 && server.inFlight() === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.inFlight()).toBe(1);
    await server.close(10_000);
    expect((await pending).body).toBe('done');
  });
});
