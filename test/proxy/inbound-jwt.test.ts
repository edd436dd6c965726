// Proxy: JwtPolicy on the inbound side over real sockets — 401 UNAUTHENTICATED with WWW-Authenticate before the app, verified claims forwarded (forged ones dropped), JWT before authorization and rate limits, JWKS by URL cached and compiled once per policy change.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingHttpHeaders } from 'node:http';
import { seededRng, systemClock, type Runtime } from '../../src/core/index.js';
import { kindPolicyMaps, parseKindPolicy, parsePolicy, snapshotFromInstances, type AuthorizationPolicyInput, type JwtPolicyInput, type ServicePolicyInput } from '../../src/model/index.js';
import { SnapshotChannel } from '../../src/resolve/snapshot-channel.js';
import { createInboundServer } from '../../src/proxy/index.js';
import { InboundAdmission } from '../../src/inbound/index.js';
import { createAccessLog, type AccessRecord } from '../../src/telemetry/index.js';
import { AUDIENCE, eventually, ISSUER, JwksServer, nowSeconds, signingKey, signToken, type SigningKey } from '../security/jwt/jwt-fixtures.js';
import { quietRuntime, send, startServer } from './request-path-fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

let key: SigningKey;
beforeAll(async () => {
  key = await signingKey('k1');
});

type Jwks = JwtPolicyInput['providers'][number]['jwks'];
interface Policies {
  jwt?: Jwks;
  /** Routes of the JwtPolicy; left out: /public/ needs no token, everything else needs "main". */
  jwtRules?: JwtPolicyInput['rules'];
  authz?: Omit<AuthorizationPolicyInput, 'service'>;
  service?: Omit<ServicePolicyInput, 'service'>;
}

const PUBLIC_AND_PRIVATE: JwtPolicyInput['rules'] = [
  { match: { pathPrefix: '/public/' }, require: [] },
  { match: { pathPrefix: '/' }, require: ['main'] },
];

function jwtPolicy(jwks: Jwks, rules: JwtPolicyInput['rules'] = PUBLIC_AND_PRIVATE) {
  return parseKindPolicy('JwtPolicy', {
    kind: 'JwtPolicy',
    service: 'api',
    providers: [{ name: 'main', issuer: ISSUER, audiences: [AUDIENCE], jwks, forwardClaims: { sub: 'x-user-id' } }],
    rules,
  });
}

/** An inbound sidecar for "api" in front of an app that echoes the headers it got. */
async function sidecar(runtime: Runtime = quietRuntime()) {
  const seen: IncomingHttpHeaders[] = [];
  const app = await startServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.end('app');
  });
  cleanups.push(() => app.close());
  const channel = new SnapshotChannel();
  const publish = ({ jwt, jwtRules, authz, service }: Policies): void => {
    const kinds = [...(jwt ? [jwtPolicy(jwt, jwtRules)] : []), ...(authz ? [parseKindPolicy('AuthorizationPolicy', { service: 'api', ...authz })] : [])];
    const servicePolicies = new Map(service ? [['api', parsePolicy({ service: 'api', ...service })]] : []);
    channel.publish(snapshotFromInstances(channel.current().version + 1, [], servicePolicies, kindPolicyMaps(kinds)));
  };
  const records: AccessRecord[] = [];
  const accessLog = createAccessLog({ sample: 1, rng: seededRng(1), clock: systemClock, forward: (r) => records.push(r) })!;
  cleanups.push(() => accessLog.close());
  // Short JWKS refresh bounds so that a test sees the background refresh stop.
  const admission = new InboundAdmission({ service: 'api', snapshots: channel, clock: runtime.clock, jwt: { jwks: { minRefreshMs: 50, retryMs: 50 } } });
  const server = createInboundServer({ runtime, appPort: app.port, service: 'api', accessLog, admission });
  const { port } = await server.listen('127.0.0.1', 0);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.close(0);
  };
  cleanups.push(close);
  const call = (options: { path?: string; method?: string; token?: string; headers?: Record<string, string> } = {}) =>
    send(port, { path: options.path, method: options.method, host: 'api', headers: { 'x-weft-source': 'web', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers } });
  return { publish, call, seen, records, runtime, close, admission };
}

async function jwtDenied(runtime: Runtime, reason: string): Promise<number> {
  const metric = await runtime.metrics.getSingleMetric('weft_proxy_jwt_denied_total')?.get();
  return metric?.values.find((v) => v.labels['destination'] === 'api' && v.labels['reason'] === reason)?.value ?? 0;
}

describe('inbound JwtPolicy', () => {
  it('forwards a valid token\'s claims to the app, never a client-set claim header, and drops the token', async () => {
    const { publish, call, seen } = await sidecar();
    publish({ jwt: { keys: [key.publicJwk] } });
    const reply = await call({ path: '/orders', token: await signToken(key), headers: { 'x-user-id': 'forged', 'X-User-Id': 'forged-too' } });
    expect(reply).toMatchObject({ status: 200, body: 'app' });
    expect(seen).toHaveLength(1);
    expect(seen[0]!['x-user-id']).toBe('user-1');
    expect(seen[0]!['authorization']).toBeUndefined();
    // The other headers go on untouched.
    expect(seen[0]!['x-weft-source']).toBe('web');
  });

  it('answers 401 UNAUTHENTICATED before the app: the bare challenge when no token came, invalid_token when it failed; counts and logs by reason', async () => {
    const { publish, call, seen, records, runtime } = await sidecar();
    publish({ jwt: { keys: [key.publicJwk] } });
    const missing = await call({ path: '/orders' });
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"');
    expect(missing.headers['x-weft-error']).toBe('UNAUTHENTICATED');
    expect(JSON.parse(missing.body)).toMatchObject({ code: 'UNAUTHENTICATED' });
    const expired = await call({ path: '/orders', token: await signToken(key, { exp: nowSeconds() - 3_600 }) });
    expect(expired.status).toBe(401);
    expect(expired.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token", error_description="the token has expired"');
    const wrongAudience = await call({ path: '/orders', token: await signToken(key, { aud: 'billing' }) });
    expect(wrongAudience.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(seen).toHaveLength(0);
    expect(await jwtDenied(runtime, 'missing')).toBe(1);
    expect(await jwtDenied(runtime, 'expired')).toBe(1);
    expect(await jwtDenied(runtime, 'audience')).toBe(1);
    await eventually(() => records.length === 3);
    expect(records.every((r) => r.status === 401 && r.response_flags === 'UNAUTHENTICATED' && r.attempts === 0)).toBe(true);
  });

  it('lets a public route through without a token, still dropping a forged claim header', async () => {
    const { publish, call, seen } = await sidecar();
    publish({ jwt: { keys: [key.publicJwk] } });
    const reply = await call({ path: '/public/page', headers: { 'x-user-id': 'forged' } });
    expect(reply.status).toBe(200);
    expect(seen[0]!['x-user-id']).toBeUndefined();
  });

  it('authenticates before authorization and rate limits: 401 first, 403 for a valid token the policy denies, and a refused token spends no rate-limit token', async () => {
    const { publish, call, seen } = await sidecar();
    const token = await signToken(key);
    publish({ jwt: { keys: [key.publicJwk] }, authz: { default: 'deny', allowUnauthenticatedSources: true, rules: [{ from: { services: ['web'] }, to: { pathPrefix: '/allowed' } }] } });
    expect((await call({ path: '/denied' })).status).toBe(401);
    const denied = await call({ path: '/denied', token });
    expect(denied.status).toBe(403);
    expect(denied.headers['x-weft-error']).toBe('FORBIDDEN');
    expect((await call({ path: '/allowed', token })).status).toBe(200);
    publish({ jwt: { keys: [key.publicJwk] }, service: { rateLimits: [{ requestsPerSecond: 0.01, burst: 1 }] } });
    for (let i = 0; i < 3; i++) expect((await call({ path: '/orders' })).status).toBe(401);
    expect((await call({ path: '/orders', token })).status).toBe(200);
    expect((await call({ path: '/orders', token })).status).toBe(429);
    expect(seen).toHaveLength(2);
  });

  it('uses a JWKS URL\'s cached keys when it goes down, fetches once per policy change, and needs no token once the policy is removed', async () => {
    const jwks = new JwksServer([key.publicJwk]);
    await jwks.start();
    cleanups.push(() => jwks.stop());
    const { publish, call, admission } = await sidecar();
    const remote = { url: jwks.url, refreshSeconds: 3_600 };
    publish({ jwt: remote });
    const token = await signToken(key);
    expect((await call({ path: '/orders', token })).status).toBe(200);
    expect(jwks.requests).toBe(1);
    // An unrelated change (an AuthorizationPolicy, a ServicePolicy) and an equal policy coming back keep the authenticator and its keys.
    const first = admission.authenticator();
    publish({ jwt: remote, authz: { default: 'allow' } });
    publish({ jwt: remote, service: { timeout: { requestMs: 5_000 } } });
    expect(admission.authenticator()).toBe(first);
    await jwks.stop();
    expect((await call({ path: '/orders', token })).status).toBe(200);
    expect(jwks.requests).toBe(1);
    publish({});
    expect(admission.authenticator()).toBeNull();
    expect((await call({ path: '/orders' })).status).toBe(200);
  });

  it('replaces the authenticator on a policy change and stops its JWKS refreshes, and stops them all when the sidecar closes', async () => {
    const jwks = new JwksServer([key.publicJwk]);
    jwks.cacheControl = 'max-age=0';
    await jwks.start();
    cleanups.push(() => jwks.stop());
    const { publish, call, close } = await sidecar();
    publish({ jwt: { url: jwks.url, refreshSeconds: 1 } });
    // Refreshed at the 50 ms lower bound while the policy lives.
    await eventually(() => jwks.requests >= 3);
    publish({ jwt: { keys: [key.publicJwk] } });
    expect((await call({ path: '/orders', token: await signToken(key) })).status).toBe(200);
    const afterReplace = jwks.requests;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(jwks.requests).toBe(afterReplace);
    publish({ jwt: { url: jwks.url, refreshSeconds: 1 } });
    await eventually(() => jwks.requests >= afterReplace + 2);
    await close();
    const afterClose = jwks.requests;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(jwks.requests).toBe(afterClose);
  });
});
