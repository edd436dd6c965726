// Control plane: the REST API, watch stream, metrics and health over real HTTP on a free port.
import { request, type IncomingMessage } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../src/control/index.js';
import { watchEventSchema, type WatchEvent } from '../../src/model/index.js';
import { createRuntime } from '../../src/telemetry/index.js';

const runtime = () => createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) });
const planes: ControlPlane[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const plane of planes.splice(0)) await plane.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function start(options: { dataDir?: string; watchPingIntervalMs?: number; watchMaxBufferedBytes?: number } = {}): Promise<ControlPlane> {
  const plane = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dev: options.dataDir === undefined, runtime: runtime(), ...options });
  planes.push(plane);
  return plane;
}

interface Reply {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}
async function call(plane: ControlPlane, method: string, path: string, body?: unknown): Promise<Reply> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(10_000) };
  const headers: Record<string, string> = plane.adminToken === undefined ? {} : { authorization: `Bearer ${plane.adminToken}` };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  init.headers = headers;
  const res = await fetch(plane.url + path, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const registration = (over: Record<string, unknown> = {}) => ({ service: 'greeter', host: '127.0.0.1', port: 8080, ...over });

/** An NDJSON watch stream read line by line. */
class WatchClient {
  private buffered = '';
  private readonly events: WatchEvent[] = [];
  private wake: (() => void) | undefined;
  ended = false;
  private constructor(
    readonly res: IncomingMessage,
    private readonly destroy: () => void,
  ) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      const lines = (this.buffered + chunk).split('\n');
      this.buffered = lines.pop() ?? '';
      for (const line of lines) if (line) this.events.push(watchEventSchema.parse(JSON.parse(line)) as WatchEvent);
      this.wake?.();
    });
    const end = (): void => {
      this.ended = true;
      this.wake?.();
    };
    res.on('end', end);
    res.on('error', end);
    res.on('close', end);
  }

  static open(plane: ControlPlane, query = ''): Promise<WatchClient> {
    return new Promise((resolve, reject) => {
      const req = request(`${plane.url}/api/v1/watch${query}`, (res) => resolve(new WatchClient(res, () => req.destroy())));
      req.on('error', reject);
      req.end();
    });
  }

  async next(ms = 10_000): Promise<WatchEvent> {
    const deadline = Date.now() + ms;
    while (this.events.length === 0) {
      if (this.ended) throw new Error('stream ended');
      if (Date.now() > deadline) throw new Error('no watch event in time');
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.events.shift()!;
  }

  close(): void {
    this.destroy();
  }
}

describe('control plane REST API', () => {
  it('registers, lists, heartbeats and deregisters', async () => {
    const plane = await start();
    const created = await call(plane, 'PUT', '/api/v1/instances/g-1', registration());
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toBe('application/json');
    expect(created.headers.get('x-weft-version')).toBe('1');
    expect(created.json).toMatchObject({ version: 1, instance: { id: 'g-1', service: 'greeter', weight: 1, ttlMs: 10_000, health: 'passing' } });

    const updated = await call(plane, 'PUT', '/api/v1/instances/g-1', registration({ id: 'g-1', weight: 3 }));
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ version: 2, instance: { weight: 3 } });
    await call(plane, 'PUT', '/api/v1/instances/g-2', registration({ port: 8081 }));

    const services = await call(plane, 'GET', '/api/v1/services');
    expect(services.json).toEqual({ version: 3, services: [{ name: 'greeter', instances: 2, passing: 2, critical: 0 }] });
    const instances = await call(plane, 'GET', '/api/v1/services/greeter/instances');
    expect(instances.json).toMatchObject({ version: 3, service: 'greeter' });
    expect((instances.json.instances as Array<{ id: string }>).map((i) => i.id)).toEqual(['g-1', 'g-2']);
    expect((await call(plane, 'GET', '/api/v1/services/nobody/instances')).json).toEqual({ version: 3, service: 'nobody', instances: [] });

    const beat = await call(plane, 'PUT', '/api/v1/instances/g-1/heartbeat');
    expect(beat).toMatchObject({ status: 200, json: { version: 3, instance: { health: 'passing' } } });
    const sick = await call(plane, 'PUT', '/api/v1/instances/g-1/heartbeat', { status: 'critical', reason: 'app down' });
    expect(sick.json).toMatchObject({ version: 4, instance: { health: 'critical', healthReason: 'app down' } });
    expect((await call(plane, 'PUT', '/api/v1/instances/zzz/heartbeat')).json).toMatchObject({ code: 'NOT_FOUND' });

    const removed = await call(plane, 'DELETE', '/api/v1/instances/g-1');
    expect(removed).toMatchObject({ status: 200, json: { version: 5, instance: { id: 'g-1' } } });
    const again = await call(plane, 'DELETE', '/api/v1/instances/g-1');
    expect(again.status).toBe(404);
    expect(again.json).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('rejects bad bodies with 400/413 naming the field, storing nothing', async () => {
    const plane = await start();
    const cases: Array<[string, unknown, number, string | undefined]> = [
      ['malformed JSON', '{"service": "greeter",', 400, undefined],
      ['missing service', { host: 'h', port: 1 }, 400, 'service'],
      ['port as string', registration({ port: '80' }), 400, 'port'],
      ['port out of range', registration({ port: 70000 }), 400, 'port'],
      ['unknown field', registration({ colour: 'blue' }), 400, 'colour'],
      ['id mismatch', registration({ id: 'other' }), 400, 'id'],
      ['no body', undefined, 400, undefined],
      ['oversized body', registration({ meta: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, 'v'.repeat(500)])) }), 413, undefined],
    ];
    for (const [name, body, status, field] of cases) {
      const reply = await call(plane, 'PUT', '/api/v1/instances/g-1', body);
      expect(reply.status, name).toBe(status);
      expect(reply.headers.get('content-type'), name).toBe('application/json');
      expect(reply.json.code, name).toBe(status === 413 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION_FAILED');
      expect(reply.json.field, name).toBe(field);
      expect(typeof reply.json.message, name).toBe('string');
    }
    expect((await call(plane, 'GET', '/api/v1/services')).json).toEqual({ version: 0, services: [] });
    expect((await call(plane, 'PUT', '/api/v1/instances/g-1/heartbeat', { status: 'meh' })).json).toMatchObject({ code: 'VALIDATION_FAILED', field: 'status' });
  });

  it('takes the protocol as a field or as meta.protocol, shows it in replies and watch events, and refuses unknown ones naming the field', async () => {
    const plane = await start();
    const watch = await WatchClient.open(plane);
    expect(await watch.next()).toMatchObject({ type: 'reset', instances: [] });
    const bodies: Array<[string, Record<string, unknown>, string]> = [
      ['p-default', registration(), 'http1'],
      ['p-http1', registration({ protocol: 'http1' }), 'http1'],
      ['p-http2', registration({ protocol: 'http2' }), 'http2'],
      ['p-grpc', registration({ protocol: 'grpc' }), 'grpc'],
      ['p-tcp', registration({ protocol: 'tcp' }), 'tcp'],
      ['p-meta-grpc', registration({ meta: { protocol: 'grpc' } }), 'grpc'],
      ['p-meta-tcp', registration({ meta: { protocol: 'tcp', zone: 'a' } }), 'tcp'],
      ['p-both', registration({ protocol: 'http2', meta: { protocol: 'http2' } }), 'http2'],
    ];
    for (const [id, body, protocol] of bodies) {
      const reply = await call(plane, 'PUT', `/api/v1/instances/${id}`, body);
      expect(reply.status, id).toBe(201);
      expect(reply.json.instance, id).toMatchObject({ id, protocol, meta: body.meta ?? {} });
      expect(await watch.next(), id).toMatchObject({ type: 'upsert', instance: { id, protocol } });
    }
    watch.close();
    const listed = await call(plane, 'GET', '/api/v1/services/greeter/instances');
    const protocols = Object.fromEntries((listed.json.instances as Array<{ id: string; protocol: string }>).map((i) => [i.id, i.protocol]));
    expect(protocols).toEqual(Object.fromEntries(bodies.map(([id, , protocol]) => [id, protocol])));
    const beat = await call(plane, 'PUT', '/api/v1/instances/p-grpc/heartbeat', { status: 'critical' });
    expect(beat.json.instance).toMatchObject({ health: 'critical', protocol: 'grpc' });

    const refused: Array<[Record<string, unknown>, string]> = [
      [registration({ protocol: 'http3' }), 'protocol'],
      [registration({ protocol: 'HTTP1' }), 'protocol'],
      [registration({ protocol: 2 }), 'protocol'],
      [registration({ meta: { protocol: 'udp' } }), 'meta.protocol'],
      [registration({ protocol: 'grpc', meta: { protocol: 'http1' } }), 'protocol'],
    ];
    for (const [body, field] of refused) {
      const reply = await call(plane, 'PUT', '/api/v1/instances/p-bad', body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.json, JSON.stringify(body)).toMatchObject({ code: 'VALIDATION_FAILED', field });
    }
    expect((await call(plane, 'PUT', '/api/v1/instances/p-bad', registration({ protocol: 'quic' }))).json.message).toMatch(/expected one of: http1, http2, grpc, tcp/);
    expect((await call(plane, 'GET', '/api/v1/services')).json).toMatchObject({ services: [{ name: 'greeter', instances: bodies.length }] });
  });

  it('refuses hosts that are not URL hosts, and link-local or unspecified addresses, naming the field', async () => {
    const plane = await start();
    const refused = ['a b', '[::1]', '127.0.0.1:9/x', 'x\r\ny', '', '   ', 'fe80::1%eth0', '1.2.3.999', '0x7f.1', 'a..b', '-a.example', 'a'.repeat(64), '169.254.169.254', '::ffff:169.254.169.254', '0.0.0.0', '::', '255.255.255.255'];
    for (const host of refused) {
      const reply = await call(plane, 'PUT', '/api/v1/instances/g-1', registration({ host }));
      expect(reply.status, JSON.stringify(host)).toBe(400);
      expect(reply.json, JSON.stringify(host)).toMatchObject({ code: 'VALIDATION_FAILED', field: 'host' });
      expect(reply.json.message, JSON.stringify(host)).not.toMatch(/[\r\n]/);
    }
    expect((await call(plane, 'GET', '/api/v1/services')).json).toEqual({ version: 0, services: [] });
    // A stray space is a typo, not another host: it is trimmed.
    const accepted: Array<[string, string]> = [['10.0.0.1 ', '10.0.0.1'], ['::1', '::1'], ['FD00::A', 'fd00::a'], ['greeter-1.prod.example.', 'greeter-1.prod.example.'], ['localhost', 'localhost']];
    for (const [i, [host, stored]] of accepted.entries()) {
      const reply = await call(plane, 'PUT', `/api/v1/instances/g-${i}`, registration({ host }));
      expect(reply.status, host).toBe(201);
      expect((reply.json.instance as { host: string }).host).toBe(stored);
    }
  });

  it('accepts only instance addresses inside --allow-instance-cidr and outside --deny-instance-cidr', async () => {
    const plane = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dev: true, runtime: runtime(), allowInstanceCidrs: ['10.0.0.0/8', 'fd00::/8', '127.0.0.0/8'], denyInstanceCidrs: ['10.9.0.0/16'] });
    planes.push(plane);
    for (const [i, [host, status]] of ([['10.1.2.3', 201], ['fd00::7', 201], ['10.9.1.1', 400], ['192.168.1.1', 400], ['greeter.example', 400], ['169.254.1.1', 400]] as const).entries()) {
      const reply = await call(plane, 'PUT', `/api/v1/instances/g-${i}`, registration({ host }));
      expect(reply.status, host).toBe(status);
      if (status === 400) expect(reply.json.field, host).toBe('host');
    }
    // The Consul API registers through the same rule, and its checks may reach only an allowed address.
    const consul = async (body: unknown) => (await fetch(`${plane.url}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) })).status;
    expect(await consul({ Name: 'greeter', Address: '192.168.1.1', Port: 80 })).toBe(400);
    // (An accepted check runs at once: it targets a loopback port, as a test dials nothing beyond this machine.)
    expect(await consul({ Name: 'greeter', ID: 'g-c', Address: '127.0.0.5', Port: 80, Check: { TCP: '127.0.0.5:1', Interval: '10s' } })).toBe(200);
    expect(await consul({ Name: 'greeter', ID: 'g-d', Address: '10.1.2.5', Port: 80, Check: { HTTP: 'http://10.9.0.1/health', Interval: '10s' } })).toBe(400);
  });

  it("keeps the Consul checks' records (their URLs and headers) out of REST replies and watch events", async () => {
    const plane = await start();
    const body = { Name: 'web', ID: 'web-1', Address: '127.0.0.1', Port: 1, Meta: { zone: 'a' }, Check: { HTTP: 'http://127.0.0.1:1/health?token=s3cret', Header: { Authorization: ['Bearer s3cret'] }, Interval: '10s' } };
    expect((await fetch(`${plane.url}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) })).status).toBe(200);
    const listed = await call(plane, 'GET', '/api/v1/services/web/instances');
    expect(JSON.stringify(listed.json)).not.toContain('s3cret');
    expect((listed.json.instances as { meta: Record<string, string> }[])[0]!.meta).toMatchObject({ zone: 'a' });
    const watch = await WatchClient.open(plane);
    const reset = await watch.next();
    watch.close();
    expect(reset.type).toBe('reset');
    expect(JSON.stringify(reset)).not.toContain('s3cret');
  });

  it('answers unknown routes, wrong methods and bad names with JSON errors', async () => {
    const plane = await start();
    const missing = await call(plane, 'GET', '/api/v1/nothing');
    expect(missing).toMatchObject({ status: 404, json: { code: 'NOT_FOUND' } });
    const wrong = await call(plane, 'POST', '/api/v1/services');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
    expect(wrong.json).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
    const badName = await call(plane, 'GET', '/api/v1/services/Not_Valid/instances');
    expect(badName).toMatchObject({ status: 400, json: { code: 'VALIDATION_FAILED', field: 'name' } });
    const badWatch = await call(plane, 'GET', '/api/v1/watch?since=abc');
    expect(badWatch).toMatchObject({ status: 400, json: { field: 'since' } });
  });

  it('serves /healthz and well-formed /metrics with request counters by route', async () => {
    const plane = await start();
    await call(plane, 'PUT', '/api/v1/instances/g-1', registration());
    expect((await call(plane, 'GET', '/healthz')).json).toEqual({ status: 'ok', version: 1 });
    const watch = await WatchClient.open(plane);
    await watch.next();
    const res = await fetch(`${plane.url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    watch.close();
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/);
    }
    expect(text).toContain('weft_control_http_requests_total{method="PUT",route="/api/v1/instances/:id",code="201"} 1');
    expect(text).toContain('weft_control_watchers{kind="watch"} 1');
    expect(text).toContain('weft_registry_instances{service="greeter",health="passing"} 1');
  });
});

describe('control plane on the embedded store', () => {
  it('keeps registrations across a restart on the same data dir', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'weft-control-'));
    dirs.push(dataDir);
    const first = await start({ dataDir });
    const put = await call(first, 'PUT', '/api/v1/instances/g-1', registration());
    await first.close();
    const second = await start({ dataDir });
    expect(second.adminToken).toBe(first.adminToken);
    expect((await call(second, 'GET', '/api/v1/services/greeter/instances')).json).toMatchObject({ version: put.json.version, instances: [{ id: 'g-1' }] });
  });

  it('refuses a second control plane on the same data dir', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'weft-control-'));
    dirs.push(dataDir);
    await start({ dataDir });
    await expect(start({ dataDir })).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});

describe('control plane watch stream', () => {
  it('sends reset then changes; a reconnect with since resumes with exactly the missed events', async () => {
    const plane = await start({ watchPingIntervalMs: 200 });
    await call(plane, 'PUT', '/api/v1/instances/g-1', registration());
    const watch = await WatchClient.open(plane);
    expect(watch.res.statusCode).toBe(200);
    expect(watch.res.headers['content-type']).toBe('application/x-ndjson');
    expect(watch.res.headers['x-weft-version']).toBe('1');
    expect(await watch.next()).toMatchObject({ type: 'reset', version: 1, instances: [{ id: 'g-1' }] });
    await call(plane, 'PUT', '/api/v1/instances/g-2', registration());
    expect(await watch.next()).toMatchObject({ type: 'upsert', version: 2, instance: { id: 'g-2' } });
    watch.close();

    // Changes while disconnected.
    await call(plane, 'PUT', '/api/v1/instances/g-3', registration());
    await call(plane, 'DELETE', '/api/v1/instances/g-1');

    const resumed = await WatchClient.open(plane, '?since=2');
    expect(await resumed.next()).toMatchObject({ type: 'upsert', version: 3, instance: { id: 'g-3' } });
    expect(await resumed.next()).toEqual({ type: 'remove', version: 4, id: 'g-1', service: 'greeter' });
    expect(await resumed.next()).toEqual({ type: 'ping', version: 4 });
    resumed.close();

    const current = await WatchClient.open(plane, '?since=4');
    expect(await current.next()).toEqual({ type: 'ping', version: 4 });
    current.close();

    const future = await WatchClient.open(plane, '?since=999');
    const reset = await future.next();
    expect(reset).toMatchObject({ type: 'reset', version: 4 });
    expect(reset.type === 'reset' && reset.instances.map((i) => i.id)).toEqual(['g-2', 'g-3']);
    future.close();
  });

  it('close() ends open watch streams and the server', async () => {
    const plane = await start();
    const watch = await WatchClient.open(plane);
    await watch.next();
    await plane.close();
    const deadline = Date.now() + 10_000;
    while (!watch.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(watch.ended).toBe(true);
    await expect(fetch(`${plane.url}/healthz`)).rejects.toThrow();
  });

  it('sends a full reset larger than the slow-client bound whole, and keeps the stream open', async () => {
    const plane = await start({ watchMaxBufferedBytes: 64 * 1024 });
    const bulky = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'v'.repeat(500)]));
    for (let i = 0; i < 30; i++) await call(plane, 'PUT', `/api/v1/instances/g-${i}`, registration({ meta: bulky }));
    const watch = await WatchClient.open(plane);
    const reset = await watch.next();
    expect(reset.type === 'reset' && reset.instances.length).toBe(30);
    await call(plane, 'PUT', '/api/v1/instances/g-late', registration());
    const next = await watch.next();
    expect(next.type === 'upsert' && next.instance.id).toBe('g-late');
    expect(watch.ended).toBe(false);
    watch.close();
  });

  it('ends the stream of a client that stops reading instead of buffering without bound', async () => {
    const plane = await start({ watchMaxBufferedBytes: 64 * 1024 });
    const watch = await WatchClient.open(plane);
    await watch.next();
    watch.res.pause();
    const bulky = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'v'.repeat(500)]));
    // Each change is ~50 KB on the wire; kernel socket buffers fill first, then the server's bound trips. Bounded loop.
    for (let i = 0; i < 400 && !watch.res.destroyed; i++) {
      await call(plane, 'PUT', `/api/v1/instances/g-${i}`, registration({ meta: bulky }));
      if ((await (await fetch(`${plane.url}/metrics`)).text()).includes('weft_control_watchers{kind="watch"} 0')) break;
    }
    const text = await (await fetch(`${plane.url}/metrics`)).text();
    expect(text).toContain('weft_control_watchers{kind="watch"} 0');
    watch.close();
  });
});
