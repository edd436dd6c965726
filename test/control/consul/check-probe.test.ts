// Consul API: a check run never throws, reaches only the instance's own host, keeps only the status line and follows no redirect.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probe } from '../../../src/control/consul/check-probe.js';
import type { CheckDefinition } from '../../../src/control/consul/index.js';
import { HostPolicy } from '../../../src/model/index.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server on `host` that counts the requests it gets and answers with `handler`. */
async function serve(host: string, handler: Parameters<typeof createServer>[1]): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    handler?.(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { port: (server.address() as AddressInfo).port, hits: () => hits };
}

const scope = { host: '127.0.0.1', policy: new HostPolicy() };
const http = (target: string, extra: Partial<CheckDefinition> = {}): CheckDefinition => ({ id: 'c', name: 'c', kind: 'http', target, intervalMs: 1_000, timeoutMs: 2_000, initial: 'critical', ...extra });

describe('probe', () => {
  it('turns a stored definition that cannot run critical with the reason, without throwing or connecting', async () => {
    // What an older version stored without checking: each of these made Node throw inside the probe and ended the process.
    const stored: CheckDefinition[] = [
      http('http://127.0.0.1:1/', { headers: { 'Bad Header': ['x'] } }),
      http('http://127.0.0.1:1/', { headers: { 'X-Ok': ['a\r\nb'] } }),
      { id: 'c', name: 'c', kind: 'tcp', target: '127.0.0.1:99999', intervalMs: 1_000, timeoutMs: 1_000, initial: 'critical' },
      { id: 'c', name: 'c', kind: 'tcp', target: 'a b:80', intervalMs: 1_000, timeoutMs: 1_000, initial: 'critical' },
      http('http://169.254.169.254/latest/meta-data/'),
      http('ftp://127.0.0.1/'),
      http('not a url'),
      http('http://127.0.0.1:1/', { method: 'get' }),
    ];
    for (const check of stored) {
      let running: Promise<unknown> | undefined;
      expect(() => (running = probe(check, scope))).not.toThrow();
      const result = await running;
      expect(result, JSON.stringify(check)).toMatchObject({ status: 'critical', output: expect.stringMatching(/^check not run: (HTTP|TCP|Header|Method): /) });
    }
  });

  it('never connects to another host, even one the stored definition names on the same machine', async () => {
    const other = await serve('127.0.0.2', (_req, res) => res.end('metadata'));
    const result = await probe(http(`http://127.0.0.2:${other.port}/`), scope);
    expect(result).toEqual({ status: 'critical', output: `check not run: HTTP: expected the service's own address 127.0.0.1 (any port), not 127.0.0.2` });
    expect(other.hits()).toBe(0);
  });

  it('checks what a host name resolves to against the host policy before connecting', async () => {
    const target = await serve('127.0.0.1', (_req, res) => res.end('ok'));
    const guarded = { host: 'localhost', policy: new HostPolicy({ deny: ['127.0.0.0/8', '::1/128'] }) };
    const result = await probe(http(`http://localhost:${target.port}/`), guarded);
    expect(result.status).toBe('critical');
    expect(result.output).toMatch(/localhost resolves to .*refuses/);
    expect(target.hits()).toBe(0);
  });

  it('keeps only the status line of the reply, never its body, and leaves the credentials and query of the URL out', async () => {
    const target = await serve('127.0.0.1', (_req, res) => res.writeHead(200, 'OK', { 'content-type': 'text/plain' }).end('SECRET-BODY'.repeat(100)));
    const result = await probe(http(`http://user:pass@127.0.0.1:${target.port}/health?x=1`), scope);
    expect(result).toEqual({ status: 'passing', output: `HTTP GET http://127.0.0.1:${target.port}/health: 200 OK` });
  });

  it('does not follow a redirect: the redirect itself is the (critical) answer', async () => {
    const elsewhere = await serve('127.0.0.1', (_req, res) => res.end('ok'));
    const target = await serve('127.0.0.1', (_req, res) => res.writeHead(302, { location: `http://127.0.0.1:${elsewhere.port}/` }).end());
    const result = await probe(http(`http://127.0.0.1:${target.port}/`), scope);
    expect(result).toEqual({ status: 'critical', output: `HTTP GET http://127.0.0.1:${target.port}/: 302 Found` });
    expect(elsewhere.hits()).toBe(0);
  });

  it('sends the stored method and headers to the own host', async () => {
    let seen: { method?: string; header?: string | string[] } = {};
    const target = await serve('127.0.0.1', (req, res) => {
      seen = { method: req.method, header: req.headers['x-check'] };
      res.writeHead(429).end();
    });
    const result = await probe(http(`http://127.0.0.1:${target.port}/`, { method: 'HEAD', headers: { 'X-Check': ['a', 'b'] } }), scope);
    expect(result.status).toBe('warning');
    expect(seen).toEqual({ method: 'HEAD', header: 'a, b' });
  });

  it('runs a TCP check on the own host at any port', async () => {
    const target = await serve('127.0.0.1', (_req, res) => res.end());
    const check: CheckDefinition = { id: 'c', name: 'c', kind: 'tcp', target: `127.0.0.1:${target.port}`, intervalMs: 1_000, timeoutMs: 1_000, initial: 'critical' };
    expect(await probe(check, scope)).toEqual({ status: 'passing', output: `TCP connect 127.0.0.1:${target.port}: Success` });
  });
});
