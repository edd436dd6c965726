// Control plane: the /api/v1/policies routes and policy events on the watch stream, over real HTTP on a free port.
import { request, type IncomingMessage } from 'node:http';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../src/control/index.js';
import { watchEventSchema, type WatchEvent } from '../../src/model/index.js';
import { createRuntime } from '../../src/telemetry/index.js';

const runtime = () => createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) });
const planes: ControlPlane[] = [];
const streams: IncomingMessage[] = [];
afterEach(async () => {
  for (const stream of streams.splice(0)) stream.destroy();
  for (const plane of planes.splice(0)) await plane.close();
});

async function start(): Promise<ControlPlane> {
  const plane = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dev: true, runtime: runtime() });
  planes.push(plane);
  return plane;
}

async function call(plane: ControlPlane, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(10_000) };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(plane.url + path, init);
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Opens GET /watch and returns a reader of its first `count` events (pings skipped). */
async function watch(plane: ControlPlane, since?: number): Promise<(count: number) => Promise<WatchEvent[]>> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    request(`${plane.url}/api/v1/watch${since === undefined ? '' : `?since=${since}`}`, resolve).on('error', reject).end();
  });
  streams.push(res);
  const events: WatchEvent[] = [];
  let buffered = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const event = watchEventSchema.parse(JSON.parse(line)) as WatchEvent;
      if (event.type !== 'ping') events.push(event);
    }
  });
  return async (count) => {
    const deadline = Date.now() + 10_000;
    while (events.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return events.slice(0, count);
  };
}

const policy = { kind: 'ServicePolicy', service: 'greeter', loadBalancer: { algorithm: 'p2c-ewma' }, timeout: { requestMs: 2000, perTryMs: 500 } };

describe('policy REST API', () => {
  it('puts, reads, lists and deletes policies', async () => {
    const plane = await start();
    const created = await call(plane, 'PUT', '/api/v1/policies/greeter', policy);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ version: 1, changed: true, policy: { ...policy, retry: { attempts: 3 } } });

    const same = await call(plane, 'PUT', '/api/v1/policies/greeter', { ...policy, kind: undefined });
    expect(same).toMatchObject({ status: 200, json: { version: 1, changed: false } });
    const changed = await call(plane, 'PUT', '/api/v1/policies/greeter', { loadBalancer: { algorithm: 'random' } });
    expect(changed).toMatchObject({ status: 200, json: { version: 2, changed: true, policy: { service: 'greeter', loadBalancer: { algorithm: 'random' } } } });
    await call(plane, 'PUT', '/api/v1/policies/billing', { service: 'billing' });

    const one = await call(plane, 'GET', '/api/v1/policies/greeter');
    expect(one).toMatchObject({ status: 200, json: { version: 3, policy: { service: 'greeter', loadBalancer: { algorithm: 'random' } } } });
    const all = await call(plane, 'GET', '/api/v1/policies');
    expect((all.json.policies as Array<{ service: string }>).map((p) => p.service)).toEqual(['billing', 'greeter']);

    expect(await call(plane, 'DELETE', '/api/v1/policies/greeter')).toEqual({ status: 200, json: { version: 4, service: 'greeter' } });
    expect(await call(plane, 'GET', '/api/v1/policies/greeter')).toMatchObject({ status: 404, json: { code: 'NOT_FOUND', message: 'policy "greeter" not found' } });
    expect(await call(plane, 'DELETE', '/api/v1/policies/greeter')).toMatchObject({ status: 404, json: { code: 'NOT_FOUND' } });
    // Policies do not show up as services, nor the other way round.
    expect((await call(plane, 'GET', '/api/v1/services')).json).toEqual({ version: 4, services: [] });
  });

  it('rejects bad bodies and names with 400 naming the field, storing nothing', async () => {
    const plane = await start();
    const cases: Array<[string, string, unknown, number, string | undefined, string]> = [
      ['malformed JSON', 'greeter', '{"service":', 400, undefined, 'VALIDATION_FAILED'],
      ['no body', 'greeter', undefined, 400, undefined, 'VALIDATION_FAILED'],
      ['array body', 'greeter', [policy], 400, undefined, 'VALIDATION_FAILED'],
      ['bad ratio', 'greeter', { retry: { budget: { ratio: 3 } } }, 400, 'retry.budget.ratio', 'VALIDATION_FAILED'],
      ['unknown field', 'greeter', { ...policy, colour: 'blue' }, 400, 'colour', 'VALIDATION_FAILED'],
      ['nested unknown field', 'greeter', { retry: { tries: 2 } }, 400, 'retry.tries', 'VALIDATION_FAILED'],
      ['service mismatch', 'greeter', { service: 'billing' }, 400, 'service', 'VALIDATION_FAILED'],
      ['bad name in path', 'Bad_Name', {}, 400, 'service', 'VALIDATION_FAILED'],
      ['oversized body', 'greeter', { routes: Array.from({ length: 60 }, () => ({ backends: Array.from({ length: 60 }, () => ({ subset: { version: 'v'.repeat(20) } })) })) }, 413, undefined, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [what, service, body, status, field, code] of cases) {
      const reply = await call(plane, 'PUT', `/api/v1/policies/${service}`, body);
      expect({ what, status: reply.status, code: reply.json.code, field: reply.json.field }).toEqual({ what, status, code, field });
      expect(typeof reply.json.message).toBe('string');
    }
    const ratio = await call(plane, 'PUT', '/api/v1/policies/greeter', { retry: { budget: { ratio: 3 } } });
    expect(ratio.json.message).toBe('retry.budget.ratio: expected a number from 0 to 1');
    expect((await call(plane, 'GET', '/api/v1/policies')).json).toEqual({ version: 0, policies: [] });
    expect((await call(plane, 'POST', '/api/v1/policies/greeter', {})).status).toBe(405);
  });

  it('takes a plain http JWKS URL only to a loopback address, and names the field when refusing one', async () => {
    const plane = await start();
    const jwtPolicy = (url: string) => ({
      kind: 'JwtPolicy',
      service: 'api',
      providers: [{ name: 'main', issuer: 'https://issuer.example', audiences: ['api'], jwks: { url } }],
    });
    const refused = await call(plane, 'PUT', '/api/v1/jwt-policies/api', jwtPolicy('http://127.evil.example/jwks.json'));
    expect(refused).toMatchObject({ status: 400, json: { code: 'VALIDATION_FAILED', field: 'providers[0].jwks.url' } });
    expect(refused.json.message).toContain('"127.evil.example" is not one');
    expect((await call(plane, 'GET', '/api/v1/jwt-policies')).json).toMatchObject({ policies: [] });
    const statuses: number[] = [];
    for (const url of ['http://127.0.0.1:8080/jwks.json', 'http://[::1]:8080/jwks.json', 'https://127.evil.example/jwks.json']) {
      statuses.push((await call(plane, 'PUT', '/api/v1/jwt-policies/api', jwtPolicy(url))).status);
    }
    expect(statuses).toEqual([201, 200, 200]);
  });
});

describe('policies on the watch stream', () => {
  it('sends policy and policy-remove events, policies in the reset, and resumes across them', async () => {
    const plane = await start();
    await call(plane, 'PUT', '/api/v1/instances/g-1', { service: 'greeter', host: '127.0.0.1', port: 8080 });
    await call(plane, 'PUT', '/api/v1/policies/greeter', policy);
    const read = await watch(plane);
    const [reset] = await read(1);
    expect(reset).toMatchObject({ type: 'reset', version: 2, instances: [{ id: 'g-1' }], policies: [{ service: 'greeter', loadBalancer: { algorithm: 'p2c-ewma' } }] });

    await call(plane, 'PUT', '/api/v1/policies/billing', { service: 'billing' });
    await call(plane, 'DELETE', '/api/v1/policies/greeter');
    const events = await read(3);
    expect(events.slice(1)).toEqual([
      { type: 'policy', version: 3, policy: expect.objectContaining({ service: 'billing', kind: 'ServicePolicy' }) },
      { type: 'policy-remove', version: 4, service: 'greeter' },
    ]);

    const resumed = await watch(plane, 2);
    expect((await resumed(2)).map((e) => [e.type, e.version])).toEqual([
      ['policy', 3],
      ['policy-remove', 4],
    ]);
  });
});
