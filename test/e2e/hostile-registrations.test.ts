// E2E: arbitrary and adversarial registrations through the REST and the Consul API of a real control plane, read back through both, and a sidecar fed by it that still routes to the one good instance.
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../src/control/index.js';
import { checkHost, HostPolicy, isValidHost, type Instance } from '../../src/model/index.js';
import { createOutboundServer } from '../../src/proxy/outbound-server.js';
import type { ProxyServer } from '../../src/proxy/drain.js';
import { ControlWatch } from '../../src/resolve/control-watch.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { closedPort, send, startServer, until, type TestServer } from '../proxy/request-path-fixtures.js';
import { attempt, bodyOf, type Attempt } from './fixtures/hostile-registrations.js';

const SEED = 7_3101;
const RUNS = 150;
const TIME_LIMIT_MS = 5_000;
/** Fewer registrations than this in the time limit would not be a run worth the name. */
const MIN_CASES = 40;
/** What the registry always refuses, whatever the operator's lists say: link-local (metadata), unspecified, broadcast. */
const ALWAYS_DENIED = new HostPolicy();
const LOOPBACK = ['127.0.0.0/8', '::1/128'];
const ACCEPTED_HERE = new HostPolicy({ allow: LOOPBACK });
const silent = (name: string) => createRuntime({ name, processMetrics: false, logger: pino({ level: 'silent' }) });

interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

let control: ControlPlane;
const summary = { rest: new Map<string, number>(), consul: new Map<string, number>(), traffic: new Map<string, number>() };

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

async function call(method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(control.url + path, {
    method,
    signal: AbortSignal.timeout(5_000),
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

function json<T>(reply: Reply): T {
  return JSON.parse(reply.text) as T;
}

beforeAll(async () => {
  // Only loopback addresses are accepted here: the control plane runs the Consul checks it accepts, and a test dials
  // nothing beyond this machine (names are refused too, so nothing is looked up).
  control = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dev: true, dashboard: false, runtime: silent('control'), allowInstanceCidrs: LOOPBACK });
});

afterAll(async () => {
  await control?.close();
  const line = (m: Map<string, number>) => [...m.entries()].map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(`hostile registrations (seed ${SEED}):\n  rest: ${line(summary.rest)}\n  consul: ${line(summary.consul)}\n  traffic: ${line(summary.traffic)}`);
});

/** The host the registry must have kept for an accepted attempt: the one sent, trimmed (Consul: 127.0.0.1 when none was). */
function keptHost(a: Attempt): string {
  if (a.api === 'consul' && (a.host === undefined || a.host === null || a.host === '')) return '127.0.0.1';
  const checked = checkHost(String(a.host));
  if (!checked.ok) throw new Error(`accepted a host checkHost refuses: ${JSON.stringify(a.host)} (${checked.reason})`);
  return checked.host;
}

/** A refusal says why in the API's own shape: weft's JSON `{code, message, field?}`, or Consul's plain text. */
function checkRefusal(a: Attempt, reply: Reply): void {
  const what = `${reply.status} ${reply.text}`;
  if (a.api === 'rest') {
    expect(reply.contentType, what).toMatch(/^application\/json/);
    const body = json<Record<string, unknown>>(reply);
    expect(Object.keys(body).filter((k) => !['code', 'message', 'field'].includes(k)), what).toEqual([]);
    expect(typeof body.code, what).toBe('string');
    expect(typeof body.message, what).toBe('string');
    if (body.field !== undefined) expect(typeof body.field, what).toBe('string');
    // What the client sent is shown escaped: a message never carries a raw line break or NUL into a log.
    expect(/[\r\n\0]/.test(String(body.message)), what).toBe(false);
  } else {
    expect(reply.contentType, what).toMatch(/^text\/plain/);
    expect(reply.text.trim().length, what).toBeGreaterThan(0);
    expect(/[\r\n\0]/.test(reply.text.replace(/\n$/, '')), what).toBe(false);
  }
}

/** An accepted registration reads back with the host kept as a valid, routable host, through both APIs. */
async function checkReadBack(a: Attempt, id: string): Promise<void> {
  const host = keptHost(a);
  expect(isValidHost(host), host).toBe(true);
  expect(ALWAYS_DENIED.refusal(host), host).toBeUndefined();
  expect(ACCEPTED_HERE.refusal(host), host).toBeUndefined();
  const rest = json<{ instances: Instance[] }>(await call('GET', `/api/v1/services/${a.service}/instances`)).instances.find((i) => i.id === id);
  expect(rest, id).toBeDefined();
  expect([rest!.host, rest!.port]).toEqual([host, a.port]);
  const catalog = json<{ ServiceID: string; ServiceAddress: string; ServicePort: number }[]>(await call('GET', `/v1/catalog/service/${a.service}`)).find((e) => e.ServiceID === id);
  expect(catalog, id).toBeDefined();
  expect([catalog!.ServiceAddress, catalog!.ServicePort]).toEqual([host, a.port]);
  const health = json<{ Service: { ID: string; Address: string; Port: number } }[]>(await call('GET', `/v1/health/service/${a.service}`)).find((e) => e.Service.ID === id);
  expect(health, id).toBeDefined();
  expect([health!.Service.Address, health!.Service.Port]).toEqual([host, a.port]);
}

describe('hostile registrations through both APIs', () => {
  it('answers each with 2xx or a 4xx that says why, reads back what it accepted with a valid host, and stays up', async () => {
    let n = 0;
    let accepted = 0;
    let refused = 0;
    const property = fc.asyncProperty(attempt, async (a) => {
      n++;
      // A prefix per case keeps ids apart, so that each case is a new registration.
      const id = `${a.api === 'rest' ? 'r' : 'c'}${n}-${a.id}`;
      const reply = a.api === 'rest' ? await call('PUT', `/api/v1/instances/${encodeURIComponent(id)}`, bodyOf(a, id)) : await call('PUT', '/v1/agent/service/register', bodyOf(a, id));
      const ok = a.api === 'rest' ? reply.status === 201 || reply.status === 200 : reply.status === 200;
      expect(ok || (reply.status >= 400 && reply.status < 500), `${a.api}: ${reply.status} ${reply.text}`).toBe(true);
      if (ok) {
        accepted++;
        count(summary[a.api], 'accepted');
        await checkReadBack(a, id);
      } else {
        refused++;
        count(summary[a.api], String(reply.status));
        checkRefusal(a, reply);
      }
      expect((await call('GET', '/healthz')).status).toBe(200);
    });
    await fc.assert(property, { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false });
    expect(n).toBeGreaterThanOrEqual(MIN_CASES);
    // Both outcomes were exercised: a run that accepts everything or nothing checked one side only.
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  describe('a sidecar fed by the control plane, with what the run above left registered', () => {
    let good: TestServer;
    let mute: TestServer;
    let watch: ControlWatch;
    let outbound: ProxyServer;
    let port: number;

    beforeAll(async () => {
      good = await startServer((_req, res) => res.end('good'));
      expect((await call('PUT', '/api/v1/instances/good-1', { service: 'target', host: '127.0.0.1', port: good.port, ttlMs: 60_000 })).status).toBe(201);
      // Accepted yet failing in each way the sidecar meets, all on this machine: refused at once, accepted and never
      // answered, an IPv6 loopback port with nothing behind it.
      mute = await startServer(() => {});
      const bad: [string, string, number][] = [['bad-closed', '127.0.0.1', await closedPort()], ['bad-silent', '127.0.0.1', mute.port], ['bad-v6', '::1', await closedPort()]];
      for (const [id, host, p] of bad) expect((await call('PUT', `/api/v1/instances/${id}`, { service: 'target', host, port: p, ttlMs: 60_000 })).status).toBe(201);
      // The hostile instances that got through were checked above through both APIs. They are not dialled: their
      // addresses are arbitrary (other hosts, other tests' ports on this one), and tests send traffic only to servers they own.
      const instances = json<{ instances: Instance[] }>(await call('GET', '/api/v1/services/target/instances')).instances;
      for (const i of instances) {
        if (!['good-1', ...bad.map(([id]) => id)].includes(i.id)) expect((await call('DELETE', `/api/v1/instances/${encodeURIComponent(i.id)}`)).status).toBe(200);
      }
      const runtime = silent('client');
      watch = new ControlWatch({ url: control.url, runtime }).start();
      outbound = createOutboundServer({ runtime, snapshots: watch, localService: 'client', connectTimeoutMs: 200 });
      port = (await outbound.listen('127.0.0.1', 0)).port;
      await until(() => watch.current().services.get('target')?.some((e) => e.id === 'good-1') === true, 5_000);
    });

    afterAll(async () => {
      await outbound?.close(0);
      watch?.close();
      await good?.close();
      await mute?.close();
    });

    it('gets its 200s from the good instance only; the bad ones fail their own attempts, and the sidecar stays up', async () => {
      const endpoints = watch.current().services.get('target') ?? [];
      expect(endpoints.map((e) => e.id).sort()).toEqual(['bad-closed', 'bad-silent', 'bad-v6', 'good-1']);
      let goods = 0;
      const deadline = Date.now() + 3_000;
      for (let round = 0; round < 10 && goods < 3 && Date.now() < deadline; round++) {
        const replies = await Promise.all(Array.from({ length: 12 }, () => send(port, { host: 'target' })));
        for (const reply of replies) {
          count(summary.traffic, `${reply.status}${reply.headers['x-weft-error'] ? ` ${String(reply.headers['x-weft-error'])}` : ''}`);
          if (reply.status === 200) {
            expect(reply.body).toBe('good');
            goods++;
          } else {
            // Only the endpoints' own failures: never the sidecar's, never a client error for a good request.
            expect([502, 503, 504], reply.body).toContain(reply.status);
            expect(['CONNECT_FAILED', 'UPSTREAM_TIMEOUT', 'UPSTREAM_RESET', 'UPSTREAM_PROTOCOL_ERROR', 'NO_ENDPOINTS', 'CIRCUIT_OPEN', 'OVERFLOW'], reply.body).toContain(reply.headers['x-weft-error']);
          }
        }
      }
      expect(goods).toBeGreaterThan(0);
      expect((await send(port, { host: 'no-such-service' })).status).toBe(503);
      expect((await call('GET', '/healthz')).status).toBe(200);
    });
  });
});
