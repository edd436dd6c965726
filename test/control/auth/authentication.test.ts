// Control auth: who may do what over HTTP — missing and invalid credentials, join tokens for one service, sidecar certificates, admin-only routes, open reads, dev.
import { afterEach, describe, expect, it } from 'vitest';
import { createWorkloadAssertion } from '../../../src/security/workload-assertion.js';
import { createRoot, issueLeaf, type TestLeaf } from '../../security/tls/test-pki.js';
import { bearer, call, joinToken, registration, startAuthPlane, stopAuthPlanes } from './auth-fixture.js';

afterEach(stopAuthPlanes);

const TRUST_DOMAIN = 'weft.test';

function weftCert(leaf: TestLeaf, method: string, path: string): string {
  return createWorkloadAssertion({ keyPem: leaf.keyPem, certChainPem: leaf.certPem }, { method, path, nowMs: Date.now() });
}

describe('control-plane API authentication', () => {
  it('refuses a registration without credentials with 401, a Bearer challenge and an UNAUTHENTICATED ErrorReply', async () => {
    const { plane } = await startAuthPlane();
    const reply = await call(plane, 'PUT', '/api/v1/instances/api-1', registration('api'));
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="weft"');
    expect(reply.json).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(plane.registry.get('api-1')).toBeUndefined();
  });

  it.each([
    ['an unknown token', `Bearer wt1.0123456789abcdef.${'A'.repeat(43)}`],
    ['a malformed token', 'Bearer hunter2'],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['a malformed certificate assertion', 'WeftCert not.a.jws'],
  ])('refuses %s with 401 invalid_token on reads and writes', async (_name, header) => {
    const { plane } = await startAuthPlane({ openRead: true });
    for (const [method, path, body] of [['GET', '/api/v1/services', undefined], ['PUT', '/api/v1/instances/api-1', registration('api')]] as const) {
      const reply = await call(plane, method, path, body, header);
      expect(reply.status, `${method} ${path}`).toBe(401);
      expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="weft", error="invalid_token"');
    }
  });

  it('lets a join token act for its own service only, and keeps instances of other services out of its reach', async () => {
    const auth = await startAuthPlane();
    const { plane } = auth;
    const api = await joinToken(auth, 'api');
    expect((await call(plane, 'PUT', '/api/v1/instances/api-1', registration('api'), bearer(api))).status).toBe(201);
    expect((await call(plane, 'PUT', '/api/v1/instances/web-1', registration('web'), bearer(api))).status).toBe(403);
    // As the Consul client sends it.
    expect((await call(plane, 'PUT', '/api/v1/instances/api-2', registration('api'), { consul: api })).status).toBe(201);

    expect((await call(plane, 'PUT', '/api/v1/instances/web-1', registration('web'), bearer(auth.admin))).status).toBe(201);
    // An id of another service cannot be taken over by registering it under one's own name.
    const takeover = await call(plane, 'PUT', '/api/v1/instances/web-1', registration('api'), bearer(api));
    expect(takeover.status).toBe(403);
    expect(takeover.json).toMatchObject({ code: 'FORBIDDEN' });
    expect(plane.registry.get('web-1')?.service).toBe('web');
    expect((await call(plane, 'PUT', '/api/v1/instances/web-1/heartbeat', { status: 'critical' }, bearer(api))).status).toBe(403);
    expect((await call(plane, 'DELETE', '/api/v1/instances/web-1', undefined, bearer(api))).status).toBe(403);
    expect(plane.registry.get('web-1')?.health).toBe('passing');

    expect((await call(plane, 'PUT', '/api/v1/instances/api-1/heartbeat', { status: 'passing' }, bearer(api))).status).toBe(200);
    expect((await call(plane, 'DELETE', '/api/v1/instances/api-1', undefined, bearer(api))).status).toBe(200);
    // Reads: any valid principal.
    expect((await call(plane, 'GET', '/api/v1/services/web/instances', undefined, bearer(api))).status).toBe(200);

    const metrics = await (await fetch(`${plane.url}/metrics`)).text();
    expect(metrics).toContain('weft_control_auth_refused_total{reason="forbidden"} 4');
    expect(metrics).toContain('weft_control_auth_refused_total{reason="unknown"} 0');
  });

  it('keeps policies and tokens to admins', async () => {
    const auth = await startAuthPlane();
    const { plane } = auth;
    const api = await joinToken(auth, 'api');
    const policy = { service: 'api', timeout: { requestMs: 500 } };
    expect((await call(plane, 'PUT', '/api/v1/policies/api', policy, bearer(api))).status).toBe(403);
    expect((await call(plane, 'PUT', '/api/v1/authorization-policies/api', { service: 'api', rules: [] }, bearer(api))).status).toBe(403);
    expect((await call(plane, 'PUT', '/api/v1/policies/api', policy, bearer(auth.admin))).status).toBe(201);
    expect((await call(plane, 'DELETE', '/api/v1/policies/api', undefined, bearer(api))).status).toBe(403);
    expect((await call(plane, 'DELETE', '/api/v1/policies/api', undefined, bearer(auth.admin))).status).toBe(200);

    expect((await call(plane, 'POST', '/api/v1/tokens', { kind: 'admin' }, bearer(api))).status).toBe(403);
    expect((await call(plane, 'GET', '/api/v1/tokens', undefined, bearer(api))).status).toBe(403);
    const listed = await call(plane, 'GET', '/api/v1/tokens', undefined, bearer(auth.admin));
    expect(listed.status).toBe(200);
    const ids = (listed.json.tokens as Array<{ id: string; kind: string }>).map((t) => t.kind).sort();
    expect(ids).toEqual(['admin', 'join']);
    expect(JSON.stringify(listed.json)).not.toContain(api.split('.')[2]);

    const joinId = api.split('.')[1]!;
    expect((await call(plane, 'DELETE', `/api/v1/tokens/${joinId}`, undefined, bearer(api))).status).toBe(403);
    expect((await call(plane, 'DELETE', `/api/v1/tokens/${joinId}`, undefined, bearer(auth.admin))).json).toEqual({ revoked: joinId });
    const revoked = await call(plane, 'GET', '/api/v1/services', undefined, bearer(api));
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('accepts a sidecar certificate for its own service and refuses it for another, or with no trust source', async () => {
    const root = await createRoot('weft test CA');
    const leaf = await issueLeaf(root, `spiffe://${TRUST_DOMAIN}/service/api`);
    const { plane } = await startAuthPlane({ workloadTrust: () => ({ trustDomain: TRUST_DOMAIN, roots: [root.certPem] }) });
    const own = '/api/v1/instances/api-1';
    expect((await call(plane, 'PUT', own, registration('api'), weftCert(leaf, 'PUT', own))).status).toBe(201);
    const foreign = '/api/v1/instances/web-1';
    expect((await call(plane, 'PUT', foreign, registration('web'), weftCert(leaf, 'PUT', foreign))).status).toBe(403);
    // Bound to its request: the assertion made for one path does not pass for another.
    expect((await call(plane, 'PUT', '/api/v1/instances/api-2', registration('api'), weftCert(leaf, 'PUT', own))).status).toBe(401);
    // A certificate of another CA proves nothing here.
    const stranger = await issueLeaf(await createRoot('other CA'), `spiffe://${TRUST_DOMAIN}/service/api`);
    expect((await call(plane, 'PUT', own, registration('api'), weftCert(stranger, 'PUT', own))).status).toBe(401);

    const untrusting = (await startAuthPlane()).plane;
    const refused = await call(untrusting, 'PUT', own, registration('api'), weftCert(leaf, 'PUT', own));
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('serves open routes to anyone, reads to valid principals, and every read with --open-read', async () => {
    const closed = await startAuthPlane();
    for (const path of ['/healthz', '/metrics', '/', '/dashboard/app.js']) expect((await call(closed.plane, 'GET', path)).status, path).toBe(200);
    // Credentials are ignored on open routes, even bad ones.
    expect((await call(closed.plane, 'GET', '/healthz', undefined, 'Bearer nonsense')).status).toBe(200);
    for (const path of ['/api/v1/services', '/api/v1/policies', '/api/v1/stats', '/v1/catalog/services']) {
      const reply = await call(closed.plane, 'GET', path);
      expect(reply.status, path).toBe(401);
      expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="weft"');
    }
    expect((await call(closed.plane, 'GET', '/api/v1/services', undefined, bearer(closed.admin))).status).toBe(200);

    const open = await startAuthPlane({ openRead: true });
    expect((await call(open.plane, 'GET', '/api/v1/services')).status).toBe(200);
    expect((await call(open.plane, 'GET', '/v1/catalog/services')).status).toBe(200);
    expect((await call(open.plane, 'PUT', '/api/v1/instances/api-1', registration('api'))).status).toBe(401);
    expect((await call(open.plane, 'POST', '/api/v1/tokens', { kind: 'admin' })).status).toBe(401);
    expect((await call(open.plane, 'GET', '/api/v1/tokens')).status).toBe(401);

    const metrics = await (await fetch(`${closed.plane.url}/metrics`)).text();
    expect(metrics).toMatch(/weft_control_auth_refused_total\{reason="missing"\} [1-9]/);
  });

  it('checks nothing under dev', async () => {
    const { plane } = await startAuthPlane({ dev: true });
    expect(plane.adminToken).toBeUndefined();
    expect((await call(plane, 'PUT', '/api/v1/instances/api-1', registration('api'))).status).toBe(201);
    expect((await call(plane, 'PUT', '/api/v1/policies/api', { service: 'api' })).status).toBe(201);
    expect((await call(plane, 'GET', '/api/v1/services', undefined, 'Bearer nonsense')).status).toBe(200);
  });

  it('writes no token or secret to its log, whether calls are accepted or refused', async () => {
    const auth = await startAuthPlane({ openRead: true });
    const { plane } = auth;
    const api = await joinToken(auth, 'api');
    const forged = `wt1.${api.split('.')[1]!}.${'Z'.repeat(43)}`;
    await call(plane, 'PUT', '/api/v1/instances/api-1', registration('api'), bearer(api));
    await call(plane, 'PUT', '/api/v1/instances/web-1', registration('web'), bearer(api));
    await call(plane, 'PUT', '/api/v1/instances/api-2', registration('api'), bearer(forged));
    await call(plane, 'PUT', '/api/v1/instances/api-2', registration('api'), { consul: forged });
    await call(plane, 'PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-2', Port: 9 }, { consul: api });
    await call(plane, 'GET', '/api/v1/tokens', undefined, bearer(auth.admin));
    await call(plane, 'POST', '/api/v1/tokens', { kind: 'join', service: 'x', secret: api }, bearer(auth.admin));
    const text = auth.logs.join('');
    expect(text).toContain('admin token');
    for (const secret of [auth.admin, api, forged]) {
      for (const part of secret.split('.').slice(2)) expect(text).not.toContain(part);
      expect(text).not.toContain(secret);
    }
  });
});
