// Consul API: registrations that once crashed the control plane, checks held to the service's own address, check output per service and counted refusals.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBackend, Registry } from '../../../src/registry/index.js';
import { createRuntime } from '../../../src/telemetry/index.js';
import { bearer, call as authCall, joinToken, startAuthPlane, stopAuthPlanes } from '../auth/auth-fixture.js';
import { call, eventually, startFixture, stopFixtures } from './consul-fixture.js';

interface HealthCheck {
  CheckID: string;
  Status: string;
  Output: string;
  Definition: Record<string, unknown>;
}

const servers: Server[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await stopFixtures();
  await stopAuthPlanes();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** An HTTP server on `host` that counts requests and answers 200 with a body no check output may show. */
async function target(host = '127.0.0.1'): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'text/plain' }).end('SECRET-BODY');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { port: (server.address() as AddressInfo).port, hits: () => hits };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Consul registrations that used to end the control plane', () => {
  it('refuses each with a 400 naming the field, and the control plane stays up past the first check interval', async () => {
    const { plane, consul } = await startFixture();
    const http = { HTTP: 'http://127.0.0.1:1/', Interval: '1s' };
    const cases: Array<[unknown, RegExp]> = [
      [{ Name: 'web', Port: 80, Check: { ...http, Header: { 'Bad Header': ['x'] } } }, /^Check\.Header: "Bad Header": expected a header name/],
      [{ Name: 'web', Port: 80, Check: { ...http, Header: { 'X-Ok': ['a\r\nb'] } } }, /^Check\.Header\.X-Ok\[0\]: expected a header value/],
      [{ Name: 'web', Port: 80, Checks: [{ TTL: '10s' }, { TCP: '127.0.0.1:99999', Interval: '1s' }] }, /^Checks\[1\]\.TCP: .*port 1-65535/],
      [{ Name: 'web', Port: 80, Address: 'a b' }, /^Address: /],
      [{ Name: 'web', Port: 80, Address: '[::1]' }, /^Address: .*without brackets/],
      [{ Name: 'web', Port: 80, Address: '127.0.0.1:9/x' }, /^Address: /],
      [{ Name: 'web', Port: 80, Address: 'x\r\ny' }, /^Address: /],
    ];
    for (const [body, message] of cases) {
      const reply = await call(plane, 'PUT', '/v1/agent/service/register', body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.text).toMatch(message);
    }
    expect(await consul.agent.service.list()).toEqual({});
    // An address with surrounding spaces is taken trimmed, as the REST API takes it.
    expect((await call(plane, 'PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-1', Port: 80, Address: '10.0.0.1 ' })).status).toBe(200);
    expect(plane.registry.get('web-1')?.host).toBe('10.0.0.1');

    await sleep(1_500);
    expect(await consul.status.leader()).toBe(`127.0.0.1:${plane.port}`);
    expect((await call(plane, 'GET', '/healthz')).status).toBe(200);
  });

  it('restarts on a data dir holding check records an older version stored unchecked, and shows each critical with its reason', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-consul-legacy-'));
    dirs.push(dir);
    const elsewhere = await target('127.0.0.2');
    const check = (n: number, fields: Record<string, unknown>): string =>
      JSON.stringify({ id: `legacy-${n}`, name: `legacy ${n}`, kind: 'http', target: 'http://127.0.0.1:1/', intervalMs: 1_000, timeoutMs: 1_000, initial: 'passing', ...fields });
    // Written straight to the store, as an older control plane wrote them.
    const runtime = createRuntime({ name: 'older', processMetrics: false, logger: pino({ level: 'silent' }) });
    const backend = await EmbeddedBackend.open(dir, runtime);
    const older = await Registry.open(backend, runtime);
    await older.register({
      id: 'legacy-1',
      service: 'legacy',
      host: '127.0.0.1',
      port: 80,
      ttlMs: 30_000,
      meta: {
        'consul-agent': '1',
        'consul-check-1': check(1, { headers: { 'Bad Header': ['x'] } }),
        'consul-check-2': check(2, { headers: { 'X-Ok': ['a\r\nb'] } }),
        'consul-check-3': check(3, { kind: 'tcp', target: '127.0.0.1:99999' }),
        'consul-check-4': check(4, { target: `http://127.0.0.2:${elsewhere.port}/latest/meta-data/` }),
        'consul-check-5': '{"id":"legacy-5",',
      },
    });
    await older.close();
    await backend.close();

    const { plane } = await startFixture({ dataDir: dir });
    await sleep(1_500);
    expect((await call(plane, 'GET', '/healthz')).status).toBe(200);
    const checks = JSON.parse((await call(plane, 'GET', '/v1/health/checks/legacy')).text) as HealthCheck[];
    const byId = Object.fromEntries(checks.map((c) => [c.CheckID, c]));
    expect(Object.keys(byId).sort()).toEqual(['legacy-1', 'legacy-2', 'legacy-3', 'legacy-4', 'service:legacy-1:check-5']);
    for (const c of checks) expect(c.Status, c.CheckID).toBe('critical');
    expect(byId['legacy-1']?.Output).toMatch(/^check not run: Header: "Bad Header" is not a header name/);
    expect(byId['legacy-2']?.Output).toMatch(/^check not run: Header: a value of X-Ok has CR, LF/);
    expect(byId['legacy-3']?.Output).toMatch(/^check not run: TCP: .*port 1-65535/);
    expect(byId['legacy-4']?.Output).toMatch(/^check not run: HTTP: expected the service's own address 127\.0\.0\.1/);
    expect(byId['service:legacy-1:check-5']?.Output).toMatch(/stored check record is not JSON/);
    expect(elsewhere.hits()).toBe(0);
    expect(plane.registry.get('legacy-1')).toMatchObject({ health: 'critical' });
  });
});

describe('Consul checks run from the control plane', () => {
  it('may target only the service\'s own address, at any port or path; elsewhere is a 400 naming the field', async () => {
    const { plane } = await startFixture();
    const own = await target();
    const cases: Array<[unknown, RegExp]> = [
      [{ Name: 'web', Port: 80, Address: '10.0.0.7', Check: { HTTP: 'http://169.254.169.254/latest/meta-data/', Interval: '1s' } }, /^Check\.HTTP: expected the service's own address 10\.0\.0\.7 \(any port\), not 169\.254\.169\.254/],
      [{ Name: 'web', Port: 80, Address: '169.254.169.254', Check: { HTTP: 'http://169.254.169.254/', Interval: '1s' } }, /^Check\.HTTP: 169\.254\.169\.254 is in a range this control plane refuses/],
      [{ Name: 'web', Port: 80, Check: { HTTP: `http://localhost:${own.port}/`, Interval: '1s' } }, /^Check\.HTTP: expected the service's own address 127\.0\.0\.1/],
      [{ Name: 'web', Port: 80, Address: '10.0.0.7', Checks: [{ TTL: '10s' }, { TCP: '10.0.0.8:22', Interval: '1s' }] }, /^Checks\[1\]\.TCP: expected the service's own address 10\.0\.0\.7/],
      [{ Name: 'web', Port: 80, Address: '::1', Check: { TCP: '[::2]:22', Interval: '1s' } }, /^Check\.TCP: expected the service's own address ::1/],
    ];
    for (const [body, message] of cases) {
      const reply = await call(plane, 'PUT', '/v1/agent/service/register', body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.text).toMatch(message);
    }

    const accepted = await call(plane, 'PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-1', Port: 80, Check: { HTTP: `http://127.0.0.1:${own.port}/health`, Interval: '1s' } });
    expect(accepted.status).toBe(200);
    const output = await eventually(async () => {
      const checks = JSON.parse((await call(plane, 'GET', '/v1/agent/checks')).text) as Record<string, HealthCheck>;
      return checks['service:web-1']?.Status === 'passing' ? checks['service:web-1'].Output : undefined;
    }, 'the check to pass');
    // The status line only: what the target served stays out of every reply.
    expect(output).toBe(`HTTP GET http://127.0.0.1:${own.port}/health: 200 OK`);
    for (const path of ['/v1/agent/checks', '/v1/health/service/web', '/v1/health/checks/web', '/api/v1/services/web/instances']) {
      expect((await call(plane, 'GET', path)).text, path).not.toContain('SECRET');
    }
  });

  it('shows a check\'s output and definition only to its own service (and admins); others see its status', async () => {
    const auth = await startAuthPlane({ openRead: true });
    const { plane } = auth;
    const own = await target();
    const api = await joinToken(auth, 'api');
    const web = await joinToken(auth, 'web');
    const register = (token: string, name: string) =>
      authCall(plane, 'PUT', '/v1/agent/service/register', { Name: name, ID: `${name}-1`, Port: own.port, Check: { HTTP: `http://127.0.0.1:${own.port}/${name}`, Interval: '1s' } }, { consul: token });
    expect((await register(api, 'api')).status).toBe(200);
    expect((await register(web, 'web')).status).toBe(200);
    // A join-token holder is held to its own address, too.
    const metadata = await authCall(plane, 'PUT', '/v1/agent/service/register', { Name: 'api', ID: 'api-2', Port: 80, Check: { HTTP: 'http://169.254.169.254/', Interval: '1s' } }, { consul: api });
    expect(metadata.status).toBe(400);
    expect(metadata.json.text).toMatch(/^Check\.HTTP: /);

    const read = async (path: string, token?: string): Promise<unknown> => (await authCall(plane, 'GET', path, undefined, token === undefined ? undefined : { consul: token })).json;
    await eventually(async () => {
      const all = (await read('/v1/agent/checks', auth.admin)) as Record<string, HealthCheck>;
      const healthy = plane.registry.get('api-1')?.health === 'passing' && plane.registry.get('web-1')?.health === 'passing';
      return healthy && all['service:api-1']?.Status === 'passing' && all['service:web-1']?.Status === 'passing' ? true : undefined;
    }, 'both checks to pass');

    const adminView = (await read('/v1/agent/checks', auth.admin)) as Record<string, HealthCheck>;
    expect(adminView['service:web-1']?.Output).toMatch(/200 OK$/);
    const apiView = (await read('/v1/agent/checks', api)) as Record<string, HealthCheck>;
    expect(Object.keys(apiView)).toEqual(['service:api-1']);
    expect(apiView['service:api-1']).toMatchObject({ Output: `HTTP GET http://127.0.0.1:${own.port}/api: 200 OK`, Definition: { HTTP: `http://127.0.0.1:${own.port}/api` } });

    const foreignEntry = (await read('/v1/health/service/web', api)) as Array<{ Checks: HealthCheck[] }>;
    expect(foreignEntry[0]?.Checks.find((c) => c.CheckID === 'service:web-1')).toMatchObject({ Status: 'passing', Output: '', Definition: {} });
    const foreignChecks = (await read('/v1/health/checks/web', api)) as HealthCheck[];
    expect(foreignChecks).toEqual([expect.objectContaining({ CheckID: 'service:web-1', Status: 'passing', Output: '', Definition: {} })]);
    // Discovery still works on statuses: ?passing keeps the healthy instance for any reader.
    expect(((await read('/v1/health/service/web?passing', api)) as unknown[]).length).toBe(1);
    const ownEntry = (await read('/v1/health/service/api', api)) as Array<{ Checks: HealthCheck[] }>;
    expect(ownEntry[0]?.Checks.find((c) => c.CheckID === 'service:api-1')?.Output).toMatch(/200 OK$/);

    // An anonymous reader (allowed by --open-read) sees no output and no agent checks at all.
    expect(await read('/v1/agent/checks')).toEqual({});
    expect((await read('/v1/health/checks/api')) as HealthCheck[]).toEqual([expect.objectContaining({ Status: 'passing', Output: '', Definition: {} })]);
  });

  it('counts a Consul route\'s 403 under the same metric and label as a REST 403', async () => {
    const auth = await startAuthPlane();
    const { plane } = auth;
    const api = await joinToken(auth, 'api');
    expect((await authCall(plane, 'PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-1', Port: 80 }, bearer(auth.admin))).status).toBe(200);
    const forbidden = async (): Promise<number> => {
      const text = (await authCall(plane, 'GET', '/metrics')).json.text as string;
      return Number(/^weft_control_auth_refused_total\{reason="forbidden"\} (\d+)$/m.exec(text)?.[1]);
    };
    expect(await forbidden()).toBe(0);
    expect((await authCall(plane, 'PUT', '/v1/agent/service/deregister/web-1', undefined, { consul: api })).status).toBe(403);
    expect((await authCall(plane, 'PUT', '/v1/agent/check/fail/service:web-1', undefined, { consul: api })).status).toBe(403);
    expect(await forbidden()).toBe(2);
    expect((await authCall(plane, 'DELETE', '/api/v1/instances/web-1', undefined, bearer(api))).status).toBe(403);
    expect(await forbidden()).toBe(3);
  });
});

describe('Consul registrations naming a protocol', () => {
  it('takes it from Meta.protocol, shows it to weft readers and keeps it in Meta; an unknown one is a 400 naming Meta.protocol', async () => {
    const { plane, consul } = await startFixture();
    const protocols = ['http1', 'http2', 'grpc', 'tcp'] as const;
    for (const protocol of protocols) {
      const reply = await call(plane, 'PUT', '/v1/agent/service/register', { Name: 'web', ID: `web-${protocol}`, Port: 80, Meta: { protocol, zone: 'a' } });
      expect(reply.status, protocol).toBe(200);
      expect(plane.registry.get(`web-${protocol}`)?.protocol, protocol).toBe(protocol);
    }
    // Without Meta.protocol an instance speaks HTTP/1.1, as every instance did before the field existed.
    expect((await call(plane, 'PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-plain', Port: 80 })).status).toBe(200);
    expect(plane.registry.get('web-plain')?.protocol).toBe('http1');
    const listed = (await consul.agent.service.list()) as Record<string, { Meta: Record<string, string> }>;
    expect(listed['web-grpc']?.Meta).toEqual({ protocol: 'grpc', zone: 'a' });
    const rest = JSON.parse((await call(plane, 'GET', '/api/v1/services/web/instances')).text) as { instances: Array<{ id: string; protocol: string }> };
    expect(Object.fromEntries(rest.instances.map((i) => [i.id, i.protocol]))).toEqual({ 'web-grpc': 'grpc', 'web-http1': 'http1', 'web-http2': 'http2', 'web-plain': 'http1', 'web-tcp': 'tcp' });

    for (const protocol of ['http3', 'GRPC', '']) {
      const refused = await call(plane, 'PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-bad', Port: 80, Meta: { protocol } });
      expect(refused.status, protocol).toBe(400);
      expect(refused.text, protocol).toMatch(/^Meta\.protocol: expected one of: http1, http2, grpc, tcp/);
    }
    expect(plane.registry.get('web-bad')).toBeUndefined();
  });
});
