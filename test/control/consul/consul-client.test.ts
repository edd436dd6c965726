// Consul API: the real npm consul client against a weft control plane — register with checks, list, health, watch, deregister.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { call, eventually, startFixture, stopFixtures } from './consul-fixture.js';

interface Entry {
  Node: { Node: string; Address: string };
  Service: { ID: string; Service: string; Tags: string[]; Address: string; Port: number; Meta: Record<string, string> };
  Checks: Array<{ CheckID: string; Status: string; Output: string }>;
}

/** A TTL check as the client's typings want it (they require a name and a timeout, which TTL checks ignore). */
const ttlCheck = (ttl: string, status?: 'passing') => ({ name: 'ttl', timeout: '1s', ttl, ...(status ? { status } : {}) });

const servers: Array<Server | TcpServer> = [];
afterEach(async () => {
  await stopFixtures();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function listen<S extends Server | TcpServer>(server: S): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('Consul API with the npm consul client', () => {
  it('registers a service with a TTL check, lists it everywhere, flips health with pass/warn/fail and deregisters', async () => {
    const { consul } = await startFixture();
    await consul.agent.service.register({ name: 'web', id: 'web-1', address: '127.0.0.2', port: 8080, tags: ['v1', 'blue'], meta: { zone: 'a' }, check: ttlCheck('10s') });

    const services = (await consul.agent.service.list()) as Record<string, Record<string, unknown>>;
    expect(services['web-1']).toMatchObject({ ID: 'web-1', Service: 'web', Tags: ['v1', 'blue'], Meta: { zone: 'a' }, Address: '127.0.0.2', Port: 8080, Weights: { Passing: 1, Warning: 1 } });
    expect(await consul.catalog.service.list()).toEqual({ web: ['v1', 'blue'] });
    const nodes = (await consul.catalog.service.nodes('web')) as Array<Record<string, unknown>>;
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ ServiceID: 'web-1', ServiceName: 'web', ServiceTags: ['v1', 'blue'], ServiceAddress: '127.0.0.2', ServicePort: 8080, ServiceMeta: { zone: 'a' } });
    expect(typeof nodes[0]?.Node).toBe('string');

    // Consul starts a TTL check critical until its first update.
    let health = (await consul.health.service({ service: 'web' })) as Entry[];
    expect(health).toHaveLength(1);
    expect(health[0]?.Checks.find((c) => c.CheckID === 'service:web-1')?.Status).toBe('critical');
    expect(await consul.health.service({ service: 'web', passing: true })).toEqual([]);

    await consul.agent.check.pass({ id: 'service:web-1', note: 'all good' });
    health = (await consul.health.service({ service: 'web', passing: true })) as Entry[];
    expect(health).toHaveLength(1);
    expect(health[0]?.Service).toMatchObject({ ID: 'web-1', Service: 'web', Address: '127.0.0.2', Port: 8080, Meta: { zone: 'a' } });
    expect(health[0]?.Checks.find((c) => c.CheckID === 'service:web-1')).toMatchObject({ Status: 'passing', Output: 'all good' });

    // Warning routes in weft but is not "passing" for Consul's ?passing filter.
    await consul.agent.check.warn({ id: 'service:web-1', note: 'slow' });
    health = (await consul.health.service({ service: 'web' })) as Entry[];
    expect(health[0]?.Checks.find((c) => c.CheckID === 'service:web-1')?.Status).toBe('warning');
    expect(await consul.health.service({ service: 'web', passing: true })).toEqual([]);

    await consul.agent.check.fail({ id: 'web-1', note: 'down' });
    health = (await consul.health.service({ service: 'web' })) as Entry[];
    expect(health[0]?.Checks.find((c) => c.CheckID === 'service:web-1')).toMatchObject({ Status: 'critical', Output: 'down' });

    await consul.agent.service.deregister('web-1');
    expect(await consul.agent.service.list()).toEqual({});
    expect(await consul.health.service({ service: 'web' })).toEqual([]);
  });

  it('filters health by tag and catalog by tag', async () => {
    const { consul } = await startFixture();
    await consul.agent.service.register({ name: 'api', id: 'api-1', port: 9001, tags: ['primary'], check: ttlCheck('30s', 'passing') });
    await consul.agent.service.register({ name: 'api', id: 'api-2', port: 9002, tags: ['secondary'], check: ttlCheck('30s', 'passing') });
    const primary = (await consul.health.service({ service: 'api', tag: 'primary', passing: true })) as Entry[];
    expect(primary.map((e) => e.Service.ID)).toEqual(['api-1']);
    const secondary = (await consul.catalog.service.nodes({ service: 'api', tag: 'secondary' })) as Array<{ ServiceID: string }>;
    expect(secondary.map((e) => e.ServiceID)).toEqual(['api-2']);
    expect(((await consul.health.service('api')) as Entry[]).map((e) => e.Service.ID)).toEqual(['api-1', 'api-2']);
  });

  it('runs an HTTP check against a real server: passing while it answers 200, critical on 500', async () => {
    const { consul } = await startFixture();
    let status = 200;
    const port = await listen(createServer((_req, res) => res.writeHead(status).end('ok')));
    await consul.agent.service.register({ name: 'shop', id: 'shop-1', port, check: { name: 'shop health', http: `http://127.0.0.1:${port}/health`, interval: '1s', timeout: '2s' } });

    const passing = async (): Promise<boolean> => ((await consul.health.service({ service: 'shop', passing: true })) as Entry[]).length === 1;
    await eventually(async () => ((await passing()) ? true : undefined), 'the HTTP check to pass');
    const entry = ((await consul.health.service('shop')) as Entry[])[0];
    expect(entry?.Checks.find((c) => c.CheckID === 'service:shop-1')?.Output).toContain('200');

    status = 500;
    await eventually(async () => ((await passing()) ? undefined : true), 'the HTTP check to fail');
    status = 429;
    await eventually(async () => {
      const checks = ((await consul.health.service('shop')) as Entry[])[0]?.Checks ?? [];
      return checks.find((c) => c.CheckID === 'service:shop-1')?.Status === 'warning' ? true : undefined;
    }, 'a 429 to read as warning');
  });

  it('runs a TCP check: passing while the port accepts, critical once it is closed', async () => {
    const { consul } = await startFixture();
    const tcp = createTcpServer((socket) => socket.end());
    const port = await listen(tcp);
    await consul.agent.service.register({ name: 'db', id: 'db-1', port, check: { name: 'db port', tcp: `127.0.0.1:${port}`, interval: '1s', timeout: '1s' } });
    await eventually(async () => (((await consul.health.service({ service: 'db', passing: true })) as Entry[]).length === 1 ? true : undefined), 'the TCP check to pass');

    servers.splice(servers.indexOf(tcp), 1);
    await new Promise((resolve) => tcp.close(resolve));
    await eventually(async () => (((await consul.health.service({ service: 'db', passing: true })) as Entry[]).length === 0 ? true : undefined), 'the TCP check to fail');
    const checks = ((await consul.health.service('db')) as Entry[])[0]?.Checks ?? [];
    expect(checks.find((c) => c.CheckID === 'service:db-1')?.Output).toMatch(/ECONNREFUSED/);
  });

  it('wakes a blocking watch on health within a second of a change', async () => {
    const { consul } = await startFixture();
    await consul.agent.service.register({ name: 'cart', id: 'cart-1', port: 7001, check: ttlCheck('30s', 'passing') });
    // The typings declare string options; the client only tests `passing` for truth.
    const options = { service: 'cart', passing: true, wait: '30s' } as unknown as Record<string, string>;
    const watch = consul.watch({ method: consul.health.service, options });
    const seen: Entry[][] = [];
    let wake: (() => void) | undefined;
    watch.on('change', (data: Entry[]) => {
      seen.push(data);
      wake?.();
    });
    const errors: unknown[] = [];
    watch.on('error', (error: unknown) => errors.push(error));
    const nextChange = (count: number): Promise<number> =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const timer = setTimeout(() => reject(new Error('no change within 5 s')), 5_000);
        wake = () => {
          if (seen.length < count) return;
          clearTimeout(timer);
          resolve(Date.now() - started);
        };
        wake();
      });
    try {
      await nextChange(1);
      expect(seen[0]?.map((e) => e.Service.ID)).toEqual(['cart-1']);
      // Let the watch settle into its blocking query before changing anything.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const waiting = nextChange(2);
      await consul.agent.service.register({ name: 'cart', id: 'cart-2', port: 7002, check: ttlCheck('30s', 'passing') });
      // The watch's blocking query waits up to 30 s: an answer within the 5 s bound of nextChange means it
      // woke on the change (in about a millisecond on an idle machine), not at the end of its wait.
      await waiting;
      expect(seen[1]?.map((e) => e.Service.ID)).toEqual(['cart-1', 'cart-2']);
      const removed = nextChange(3);
      await consul.agent.service.deregister('cart-1');
      await removed;
      expect(seen[2]?.map((e) => e.Service.ID)).toEqual(['cart-2']);
      expect(errors).toEqual([]);
    } finally {
      watch.end();
    }
  });

  it('shows instances registered over the weft REST API to Consul clients, and Consul registrations over REST', async () => {
    const { plane, consul } = await startFixture();
    const put = await call(plane, 'PUT', '/api/v1/instances/greeter-1', { service: 'greeter', host: '127.0.0.1', port: 8081, tags: ['rest'], ttlMs: 30_000 });
    expect(put.status).toBe(201);
    const services = (await consul.agent.service.list()) as Record<string, { Service: string; Tags: string[] }>;
    expect(services['greeter-1']).toMatchObject({ Service: 'greeter', Tags: ['rest'] });
    const health = (await consul.health.service({ service: 'greeter', passing: true })) as Entry[];
    expect(health.map((e) => e.Service.ID)).toEqual(['greeter-1']);
    // The REST instance's heartbeat is reachable as its Consul service check.
    await consul.agent.check.fail({ id: 'service:greeter-1', note: 'maintenance' });
    expect(await consul.health.service({ service: 'greeter', passing: true })).toEqual([]);
    const rest = await call(plane, 'GET', '/api/v1/services/greeter/instances');
    expect(JSON.parse(rest.text)).toMatchObject({ instances: [{ id: 'greeter-1', health: 'critical', healthReason: 'maintenance' }] });

    await consul.agent.service.register({ name: 'billing', id: 'billing-1', address: '10.0.0.5', port: 7000, tags: ['consul'], meta: { team: 'pay' } });
    const listed = JSON.parse((await call(plane, 'GET', '/api/v1/services/billing/instances')).text) as { instances: Array<Record<string, unknown>> };
    expect(listed.instances).toHaveLength(1);
    expect(listed.instances[0]).toMatchObject({ id: 'billing-1', service: 'billing', host: '10.0.0.5', port: 7000, tags: ['consul'], health: 'passing' });
    expect((listed.instances[0]?.meta as Record<string, string>).team).toBe('pay');
    // Reserved records stay out of what Consul clients see.
    const agentView = (await consul.agent.service.list()) as Record<string, { Meta: Record<string, string> }>;
    expect(agentView['billing-1']?.Meta).toEqual({ team: 'pay' });
  });

  it('answers status/leader with a quoted host:port and agent/self with the node', async () => {
    const { plane, consul } = await startFixture();
    expect(await consul.status.leader()).toBe(`127.0.0.1:${plane.port}`);
    expect(await consul.status.peers()).toEqual([`127.0.0.1:${plane.port}`]);
    const self = (await consul.agent.self()) as { Config: { Datacenter: string; NodeName: string } };
    expect(self.Config.Datacenter).toBe('dc1');
    expect(self.Config.NodeName.length).toBeGreaterThan(0);
  });

  it('rejects bad registrations with 400 and a message naming the field', async () => {
    const { plane, consul } = await startFixture();
    await expect(consul.agent.service.register({ name: 'Bad_Name', port: 80 })).rejects.toMatchObject({ statusCode: 400 });
    const cases: Array<[unknown, RegExp]> = [
      [{ Name: 'Bad_Name', Port: 80 }, /^Name: /],
      [{ Name: 'ok', Port: 'eighty' }, /^Port: /],
      [{ Name: 'ok' }, /^Port: required/],
      [{ Name: 'ok', Port: 80, Tags: 'a' }, /^Tags: /],
      [{ Name: 'ok', Port: 80, Check: { HTTP: 'http://127.0.0.1:1/' } }, /^Check\.Interval: required/],
      [{ Name: 'ok', Port: 80, Check: { TTL: 'soon' } }, /^Check\.TTL: /],
      [{ Name: 'ok', Port: 80, Checks: [{ TTL: '10s' }, { GRPC: '127.0.0.1:1', Interval: '1s' }] }, /^Checks\[1\]\.GRPC: unsupported/],
      [{ Name: 'ok', Port: 80, Meta: { 'consul-x': '1' } }, /^Meta\.consul-x: /],
      [{ Name: 'ok', Port: 80, Weights: { Passing: 0 } }, /^Weights\.Passing: /],
      ['{"Name":', /malformed JSON/],
    ];
    for (const [body, message] of cases) {
      const reply = await call(plane, 'PUT', '/v1/agent/service/register', body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(reply.text).toMatch(message);
    }
    expect(await consul.agent.service.list()).toEqual({});
    const unknown = await call(plane, 'PUT', '/v1/agent/check/pass/service:nope');
    expect(unknown.status).toBe(404);
    expect(unknown.text).toMatch(/nope/);
    expect((await call(plane, 'PUT', '/v1/agent/service/deregister/nope')).status).toBe(404);
    expect((await call(plane, 'DELETE', '/v1/agent/services')).status).toBe(405);
  });
});

describe('Consul checks across a control-plane restart', () => {
  it('runs the HTTP check of a Consul registration again after a restart on the same store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-consul-'));
    try {
      let status = 200;
      const port = await listen(createServer((_req, res) => res.writeHead(status).end('ok')));
      const first = await startFixture({ dataDir: dir });
      await first.consul.agent.service.register({ name: 'shop', id: 'shop-1', port, check: { name: 'shop health', http: `http://127.0.0.1:${port}/`, interval: '1s', timeout: '1s' } });
      await eventually(async () => (((await first.consul.health.service({ service: 'shop', passing: true })) as Entry[]).length === 1 ? true : undefined), 'the check to pass');
      await stopFixtures();

      const second = await startFixture({ dataDir: dir });
      const entry = ((await second.consul.health.service('shop')) as Entry[])[0];
      expect(entry?.Checks.map((c) => c.CheckID)).toEqual(['serfHealth', 'service:shop-1']);
      status = 503;
      await eventually(async () => (((await second.consul.health.service({ service: 'shop', passing: true })) as Entry[]).length === 0 ? true : undefined), 'the restarted check to fail');
      const rest = JSON.parse((await call(second.plane, 'GET', '/api/v1/services/shop/instances')).text) as { instances: Array<{ health: string; healthReason?: string }> };
      expect(rest.instances[0]?.health).toBe('critical');
      expect(rest.instances[0]?.healthReason).toMatch(/^service:shop-1: HTTP GET .* 503/);
    } finally {
      await stopFixtures();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
