// Security/JWT: keys from a real JWKS server on 127.0.0.1 — cached, kept while the endpoint is down, re-fetched at most once per cooldown for unknown kids, rotation picked up, Cache-Control honoured.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseJwtPolicy } from '../../../src/model/index.js';
import { compileJwtPolicy, type JwksEvent, type JwtAuthenticator, type JwtAuthenticatorOptions } from '../../../src/security/jwt/index.js';
import { AUDIENCE, eventually, ISSUER, JwksServer, signingKey, signToken, type SigningKey } from './jwt-fixtures.js';

let k1: SigningKey;
let k2: SigningKey;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  k1 = await signingKey('k1');
  k2 = await signingKey('k2', 'ES256');
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function jwksServer(keys = [k1.publicJwk]): Promise<JwksServer> {
  const server = new JwksServer(keys);
  await server.start();
  cleanups.push(() => server.stop());
  return server;
}

interface Setup {
  readonly authenticator: JwtAuthenticator;
  readonly events: JwksEvent[];
}

function remoteAuthenticator(url: string, jwks: { refreshSeconds?: number; unknownKidCooldownSeconds?: number } = {}, options: JwtAuthenticatorOptions = {}): Setup {
  const events: JwksEvent[] = [];
  const policy = parseJwtPolicy({ kind: 'JwtPolicy', service: 'api', providers: [{ name: 'main', issuer: ISSUER, audiences: [AUDIENCE], jwks: { url, ...jwks } }] });
  const authenticator = compileJwtPolicy(policy, { ...options, onJwksEvent: (event) => events.push(event) });
  cleanups.push(() => authenticator.close());
  return { authenticator, events };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('a JWKS from a URL', () => {
  it('is fetched once at start and then served from the cache', async () => {
    const server = await jwksServer();
    const { authenticator } = remoteAuthenticator(server.url);
    const token = await signToken(k1);
    for (let i = 0; i < 5; i += 1) expect((await authenticator.authenticate('GET', '/', bearer(token))).ok).toBe(true);
    expect(server.requests).toBe(1);
  });

  it('keeps verifying with the cached keys while the endpoint is down, through failed refreshes', async () => {
    const server = await jwksServer();
    server.cacheControl = 'max-age=0';
    const { authenticator, events } = remoteAuthenticator(server.url, { refreshSeconds: 1 }, { jwks: { minRefreshMs: 100, retryMs: 100 } });
    const token = await signToken(k1);
    expect((await authenticator.authenticate('GET', '/', bearer(token))).ok).toBe(true);
    await server.stop();
    await eventually(() => events.filter((e) => e.type === 'fetch-failed').length >= 2);
    expect(events.find((e) => e.type === 'fetch-failed')).toMatchObject({ servingCachedKeys: true, trigger: 'refresh' });
    expect((await authenticator.authenticate('GET', '/', bearer(token))).ok).toBe(true);
  });

  it('refuses with keys-unavailable while it never had keys, then recovers when the endpoint comes up', async () => {
    const server = await jwksServer();
    await server.stop();
    const { authenticator, events } = remoteAuthenticator(server.url, {}, { jwks: { retryMs: 100 } });
    await eventually(() => events.some((e) => e.type === 'fetch-failed'));
    const token = await signToken(k1);
    const refused = await authenticator.authenticate('GET', '/', bearer(token));
    expect(refused.ok === false && refused.reason).toBe('keys-unavailable');
    expect(refused.ok === false && refused.detail).toContain('ECONNREFUSED');
    await server.start();
    await eventually(() => events.some((e) => e.type === 'fetched'));
    expect((await authenticator.authenticate('GET', '/', bearer(token))).ok).toBe(true);
  });

  it('re-fetches for unknown kids at most once per cooldown, however many such tokens arrive', async () => {
    const server = await jwksServer();
    const { authenticator, events } = remoteAuthenticator(server.url, { unknownKidCooldownSeconds: 3600 });
    await eventually(() => events.length > 0);
    const strangers = await Promise.all(Array.from({ length: 5 }, (_, i) => signingKey(`stranger-${i}`)));
    const tokens = await Promise.all(strangers.map((s) => signToken(s)));
    const burst = await Promise.all(tokens.map((t) => authenticator.authenticate('GET', '/', bearer(t))));
    for (const t of tokens) burst.push(await authenticator.authenticate('GET', '/', bearer(t)));
    expect(burst.map((r) => (r.ok ? 'ok' : r.reason))).toEqual(Array(10).fill('unknown-key'));
    expect(server.requests).toBe(2);
    expect(events.filter((e) => e.type === 'fetched').map((e) => e.trigger)).toEqual(['start', 'unknown-kid']);
  });

  it('picks up a rotated-in key through the unknown-kid re-fetch', async () => {
    const server = await jwksServer();
    const { authenticator } = remoteAuthenticator(server.url);
    expect((await authenticator.authenticate('GET', '/', bearer(await signToken(k1)))).ok).toBe(true);
    server.keys = [k1.publicJwk, k2.publicJwk];
    const result = await authenticator.authenticate('GET', '/', bearer(await signToken(k2)));
    expect(result.ok).toBe(true);
    expect(server.requests).toBe(2);
  });

  it('drops a key the endpoint stops publishing at the next refresh', async () => {
    const server = await jwksServer([k1.publicJwk, k2.publicJwk]);
    server.cacheControl = 'public, max-age=1';
    const { authenticator, events } = remoteAuthenticator(server.url, { unknownKidCooldownSeconds: 3600 }, { jwks: { minRefreshMs: 100 } });
    const token = await signToken(k1);
    expect((await authenticator.authenticate('GET', '/', bearer(token))).ok).toBe(true);
    expect(events[0]).toMatchObject({ type: 'fetched', nextRefreshMs: 1000 });
    server.keys = [k2.publicJwk];
    await eventually(() => events.filter((e) => e.type === 'fetched').length >= 2);
    const result = await authenticator.authenticate('GET', '/', bearer(token));
    expect(result.ok === false && result.reason).toBe('unknown-key');
  });
});
