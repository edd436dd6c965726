// E2E: JwtPolicy on a real sidecar through the built CLI — weft apply/get/delete of the kind, valid/missing/expired tokens, claims forwarded to the app, a public route, JWKS by URL with its server gone, JWT before authorization.
import type { IncomingHttpHeaders } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, stopAll, waitForHttp } from '../support/index.js';
import { startServer, type TestServer } from '../proxy/request-path-fixtures.js';
import { AUDIENCE, ISSUER, JwksServer, nowSeconds, signingKey, signToken, type SigningKey } from '../security/jwt/jwt-fixtures.js';
import { applyYaml, HttpClient, pollUntil, runWeft, startWeft, type Reply } from './weft-cli.js';

/** The issue's JwtPolicy shape; `jwks` is a YAML flow mapping (JSON is valid YAML). */
const jwtPolicy = (jwks: unknown) => `kind: JwtPolicy
service: api
providers:
  - name: main
    issuer: ${ISSUER}
    audiences: [${AUDIENCE}]
    jwks: ${JSON.stringify(jwks)}
    forwardClaims: { sub: x-user-id }
rules:
  - match: { pathPrefix: /public/ }
    require: []
  - match: { pathPrefix: / }
    require: [main]
`;

const AUTHZ = `kind: AuthorizationPolicy
service: api
default: deny
rules:
  - to: { pathPrefix: /allowed }
`;

interface SnapshotJson {
  kindPolicies: { JwtPolicy?: Record<string, { providers: { jwks: { url?: string } }[] }> };
}

describe('JwtPolicy on a real sidecar', () => {
  let dir: string;
  let env: Record<string, string>;
  let inbound: string;
  let apiAdmin: string;
  let app: TestServer;
  let inlineKey: SigningKey;
  let urlKey: SigningKey;
  let jwks: JwksServer;
  const seen: IncomingHttpHeaders[] = [];
  const http = new HttpClient();

  const call = (path: string, token?: string, headers: Record<string, string> = {}): Promise<Reply> =>
    http.send(`${inbound}${path}`, { headers: { host: 'api', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
  const snapshot = async () => JSON.parse((await http.send(`${apiAdmin}/snapshot`)).body) as SnapshotJson;
  const apply = (name: string, text: string) => applyYaml(dir, name, text, env);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-e2e-jwt-'));
    inlineKey = await signingKey('inline-1');
    urlKey = await signingKey('url-1', 'ES256');
    jwks = new JwksServer([urlKey.publicJwk]);
    await jwks.start();
    app = await startServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      res.end('app');
    });
    const [control, admin, inboundPort] = await freePorts(3);
    env = { WEFT_CONTROL: `http://127.0.0.1:${control}` };
    apiAdmin = `http://127.0.0.1:${admin}`;
    inbound = `http://127.0.0.1:${inboundPort}`;
    const controlProcess = startWeft('control', ['control', '--dev', '--listen', `127.0.0.1:${control}`]);
    await waitForHttp(`${env.WEFT_CONTROL}/healthz`, 15_000, { process: controlProcess });
    startWeft('api', ['proxy', '--service', 'api', '--control', env.WEFT_CONTROL!, '--app-port', String(app.port), '--inbound', `127.0.0.1:${inboundPort}`,
      '--outbound', '127.0.0.1:0', '--admin', `127.0.0.1:${admin}`]);
    await pollUntil('the api sidecar to answer', 20_000, async () => ((await call('/ready')).status === 200 ? true : undefined));
  }, 60_000);

  afterAll(async () => {
    http.close();
    await stopAll();
    await jwks.stop();
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies a JwtPolicy with inline keys and lists and shows it by kind', async () => {
    expect(await apply('jwt.yaml', jwtPolicy({ keys: [inlineKey.publicJwk] }))).toMatchObject({ code: 0, stdout: 'jwtpolicy/api configured\n' });
    expect((await apply('jwt.yaml', jwtPolicy({ keys: [inlineKey.publicJwk] }))).stdout).toBe('jwtpolicy/api unchanged\n');
    const table = (await runWeft(['get', 'policies'], env)).stdout.trim().split('\n');
    expect(table.find((line) => line.startsWith('JwtPolicy'))).toMatch(/^JwtPolicy\s+api\s+-\s+-\s+-\s+-\s+1 provider, 2 rules$/);
    const one = JSON.parse((await runWeft(['get', 'policy', 'api', '--kind', 'JwtPolicy', '-o', 'json'], env)).stdout) as { kind: string; providers: { name: string; forwardClaims: unknown }[] };
    expect(one).toMatchObject({ kind: 'JwtPolicy', providers: [{ name: 'main', forwardClaims: { sub: 'x-user-id' } }] });
    await pollUntil('the api sidecar to hold the JwtPolicy', 10_000, async () => ((await snapshot()).kindPolicies.JwtPolicy?.api ? true : undefined));
  });

  it('passes a valid token with its claim forwarded, and answers 401 with a challenge to a missing or expired one', async () => {
    seen.length = 0;
    const valid = await call('/orders', await signToken(inlineKey), { 'x-user-id': 'forged' });
    expect(valid).toMatchObject({ status: 200, body: 'app' });
    expect(seen[0]?.['x-user-id']).toBe('user-1');
    expect(seen[0]?.['authorization']).toBeUndefined();

    const missing = await call('/orders');
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"');
    expect(missing.headers['x-weft-error']).toBe('UNAUTHENTICATED');
    const expired = await call('/orders', await signToken(inlineKey, { exp: nowSeconds() - 3_600 }));
    expect(expired.status).toBe(401);
    expect(expired.headers['www-authenticate']).toContain('error="invalid_token"');

    expect((await call('/public/page')).status).toBe(200);
    expect(seen).toHaveLength(2);
    const metrics = (await http.send(`${apiAdmin}/metrics`)).body;
    expect(metrics).toMatch(/weft_proxy_jwt_denied_total\{destination="api",reason="missing"\} 1\n/);
    expect(metrics).toMatch(/weft_proxy_jwt_denied_total\{destination="api",reason="expired"\} 1\n/);
  });

  it('checks authorization after a valid token: 403 where the AuthorizationPolicy denies', async () => {
    expect((await apply('authz.yaml', AUTHZ)).code).toBe(0);
    const token = await signToken(inlineKey);
    await pollUntil('the authorization policy to apply', 10_000, async () => ((await call('/denied', token)).status === 403 ? true : undefined));
    expect((await call('/allowed', token)).status).toBe(200);
    expect((await call('/denied')).status).toBe(401);
    expect((await runWeft(['delete', 'policy', 'api', '--kind', 'AuthorizationPolicy'], env)).code).toBe(0);
    await pollUntil('the authorization policy to go', 10_000, async () => ((await call('/denied', token)).status === 200 ? true : undefined));
  });

  it('verifies with keys from a JWKS URL and keeps using them once that server is down', async () => {
    expect((await apply('jwt.yaml', jwtPolicy({ url: jwks.url }))).stdout).toBe('jwtpolicy/api configured\n');
    const token = await signToken(urlKey);
    await pollUntil('the URL keys to be used', 10_000, async () => ((await call('/orders', token)).status === 200 ? true : undefined));
    expect((await snapshot()).kindPolicies.JwtPolicy?.api?.providers[0]?.jwks.url).toBe(jwks.url);
    await jwks.stop();
    expect((await call('/orders', token)).status).toBe(200);
    expect((await call('/orders', await signToken(urlKey))).status).toBe(200);
    expect((await call('/orders')).status).toBe(401);
  });

  it('needs no token once the policy is deleted', async () => {
    expect(await runWeft(['delete', 'policy', 'api', '--kind', 'JwtPolicy'], env)).toMatchObject({ code: 0, stdout: 'jwtpolicy/api deleted\n' });
    expect((await runWeft(['get', 'policy', 'api', '--kind', 'JwtPolicy'], env)).stderr).toContain('[NOT_FOUND]');
    await pollUntil('the sidecar to drop the JwtPolicy', 10_000, async () => ((await call('/orders')).status === 200 ? true : undefined));
  });
});
