// Security/JWT: one JWKS download against a real server — size and time limits, redirects refused, non-JSON and bad statuses reported, only public signing keys kept, plain http only to loopback.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fetchJwks, JwksFetchError, type JwksFetchLimits } from '../../../src/security/jwt/index.js';
import { JwksServer, signingKey, type SigningKey } from './jwt-fixtures.js';

const limits: JwksFetchLimits = { timeoutMs: 2_000, maxBytes: 64 * 1024, maxKeys: 10 };
let key: SigningKey;
const servers: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  key = await signingKey('k1');
});
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
});

async function jwksServer(): Promise<JwksServer> {
  const server = new JwksServer([key.publicJwk]);
  await server.start();
  servers.push(server);
  return server;
}

async function rawServer(handler: Parameters<typeof createServer>[1], host = '127.0.0.1'): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, () => resolve()));
  servers.push({
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}/jwks.json`;
}

async function failure(url: string, overrides: Partial<JwksFetchLimits> = {}): Promise<string> {
  const error: unknown = await fetchJwks(url, { ...limits, ...overrides }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JwksFetchError);
  return (error as Error).message;
}

describe('fetchJwks', () => {
  it('returns the key set and the Cache-Control max-age', async () => {
    const server = await jwksServer();
    server.cacheControl = 'public, max-age=120';
    const fetched = await fetchJwks(server.url, limits);
    expect(fetched.jwks.keys.map((k) => k.kid)).toEqual(['k1']);
    expect(fetched.maxAgeSeconds).toBe(120);
  });

  it('keeps only public signing keys: drops oct, private and encryption keys', async () => {
    const server = await jwksServer();
    server.keys = [key.publicJwk, { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }, { ...key.publicJwk, kid: 'private', d: 'AAAA' }, { ...key.publicJwk, kid: 'enc', use: 'enc' }];
    expect((await fetchJwks(server.url, limits)).jwks.keys.map((k) => k.kid)).toEqual(['k1']);
  });

  it('refuses a reply larger than the size limit, declared or streamed', async () => {
    const server = await jwksServer();
    server.body = JSON.stringify({ keys: [key.publicJwk], padding: 'x'.repeat(100_000) });
    expect(await failure(server.url)).toContain(`larger than ${limits.maxBytes} bytes`);
    const chunked = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":[],"padding":"');
      res.end(`${'x'.repeat(100_000)}"}`);
    });
    expect(await failure(chunked)).toContain('larger than');
  });

  it('gives up after the timeout', async () => {
    const server = await jwksServer();
    server.delayMs = 3_000;
    expect(await failure(server.url, { timeoutMs: 200 })).toContain('within 200 ms');
  });

  it('does not follow redirects, and reports bad statuses, non-JSON and too many keys', async () => {
    const redirect = await rawServer((_req, res) => res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end());
    expect(await failure(redirect)).toContain('request failed');
    const notFound = await rawServer((_req, res) => res.writeHead(404).end('no'));
    expect(await failure(notFound)).toContain('expected status 200, got 404');
    const html = await rawServer((_req, res) => res.writeHead(200).end('<html>'));
    expect(await failure(html)).toContain('not JSON');
    const server = await jwksServer();
    server.keys = Array.from({ length: 11 }, () => key.publicJwk);
    expect(await failure(server.url)).toContain('at most 10 keys');
  });

  it('refuses, before any request, a URL no policy could hold', async () => {
    expect(await failure('http://127.evil.example/jwks.json')).toContain('"127.evil.example" is not one');
    expect(await failure('ftp://127.0.0.1/jwks.json')).toContain('expected an https:// URL');
    expect(await failure('http://user:secret@127.0.0.1:1/jwks.json')).toContain('without credentials');
  });

  it('fetches over plain http from 127.0.0.0/8 and [::1]', async () => {
    const keys = JSON.stringify({ keys: [key.publicJwk] });
    const v6 = await rawServer((_req, res) => res.writeHead(200).end(keys), '::1');
    expect((await fetchJwks(v6, limits)).jwks.keys).toHaveLength(1);
    const v4 = await rawServer((_req, res) => res.writeHead(200).end(keys));
    expect((await fetchJwks(v4.replace('127.0.0.1', '0x7f.1'), limits)).jwks.keys).toHaveLength(1);
  });

  it('takes localhost to mean a loopback address, on either family, and sends it as the Host', async () => {
    const hosts: (string | undefined)[] = [];
    const keys = JSON.stringify({ keys: [key.publicJwk] });
    for (const host of ['127.0.0.1', '::1']) {
      const url = await rawServer((req, res) => {
        hosts.push(req.headers.host);
        res.writeHead(200).end(keys);
      }, host);
      const port = new URL(url).port;
      expect((await fetchJwks(`http://localhost:${port}/jwks.json`, limits)).jwks.keys).toHaveLength(1);
    }
    expect(hosts).toEqual([expect.stringMatching(/^localhost:\d+$/), expect.stringMatching(/^localhost:\d+$/)]);
  });
});
