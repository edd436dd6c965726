// Tests: the workload's registration loop against the real control plane: register, heartbeat, recover, deregister.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { seededRng, type Runtime } from '../../src/core/index.js';
import { startControlPlane, type ControlPlane } from '../../src/control/index.js';
import { ControlClient, Registration } from '../../src/workload/index.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { startReplicaProxy, type ReplicaProxy } from '../support/replica-proxy.js';

const wait = { timeout: 10_000, interval: 20 };

interface LogLine {
  level: number;
  msg: string;
}

function testRuntime(): { runtime: Runtime; logs: LogLine[] } {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  return { runtime: { ...createRuntime({ name: 'test', processMetrics: false, logger }), rng: seededRng(11) }, logs };
}

async function heartbeatsCounted(runtime: Runtime, result: string): Promise<number> {
  const metric = (await runtime.metrics.getMetricsAsJSON()).find((m) => m.name === 'weft_registration_heartbeats_total');
  return metric?.values.find((v) => v.labels.result === result)?.value ?? 0;
}

async function startControl(port = 0): Promise<ControlPlane> {
  // A restart reuses a port released by our own server a moment ago; retry briefly in case the OS still holds it.
  const deadline = Date.now() + 5_000;
  for (let attempt = 0; ; attempt++) {
    try {
      const runtime = createRuntime({ name: 'control', processMetrics: false, logger: pino({ level: 'silent' }) });
      return await startControlPlane({ listen: { host: '127.0.0.1', port }, dev: true, runtime });
    } catch (err) {
      if (Date.now() > deadline || attempt > 50) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const reg = { id: 'greeter-1', service: 'greeter', host: '127.0.0.1', port: 9001, ttlMs: 3_000, meta: { version: 'v1' } };

describe('Registration', () => {
  let server: ControlPlane | undefined;
  const registrations: Registration[] = [];
  const clients: ControlClient[] = [];

  const client = (url: string): ControlClient => {
    const c = new ControlClient(url);
    clients.push(c);
    return c;
  };

  afterEach(async () => {
    for (const r of registrations.splice(0)) await r.stop({ deregister: false });
    for (const c of clients.splice(0)) c.close();
    await server?.close();
    server = undefined;
  });

  it('registers in the background, heartbeats, and deregisters on stop', async () => {
    server = await startControl();
    const { runtime } = testRuntime();
    const registration = new Registration({ runtime, client: client(server.url), instance: reg, heartbeatIntervalMs: 50 });
    registrations.push(registration);
    expect(registration.start()).toBe(registration);
    await registration.registered();
    expect(server.registry.all()).toEqual([expect.objectContaining({ id: 'greeter-1', service: 'greeter', port: 9001, ttlMs: 3_000, meta: { version: 'v1' } })]);
    await vi.waitFor(async () => expect(await heartbeatsCounted(runtime, 'ok')).toBeGreaterThanOrEqual(3), wait);

    await registration.stop({ deregister: true });
    expect(server.registry.all()).toEqual([]);
    const count = await heartbeatsCounted(runtime, 'ok');
    await new Promise((r) => setTimeout(r, 150));
    expect(await heartbeatsCounted(runtime, 'ok')).toBe(count);
  });

  it('sends a change of app health at once and keeps it across beats', async () => {
    server = await startControl();
    const { runtime } = testRuntime();
    // A long interval: the change must not wait for the next regular beat.
    const registration = new Registration({ runtime, client: client(server.url), instance: reg, heartbeatIntervalMs: 60_000 });
    registrations.push(registration);
    registration.start();
    await registration.registered();
    registration.setHealth('critical', 'app down: connect ECONNREFUSED');
    await vi.waitFor(() => expect(server!.registry.all()[0]).toMatchObject({ health: 'critical', healthReason: 'app down: connect ECONNREFUSED' }), wait);
    registration.setHealth('passing');
    await vi.waitFor(() => expect(server!.registry.all()[0]?.health).toBe('passing'), wait);
  });

  it('does not resend a health the control plane already has, even when it fills in a default reason', async () => {
    server = await startControl();
    const { runtime } = testRuntime();
    const registration = new Registration({ runtime, client: client(server.url), instance: reg, heartbeatIntervalMs: 60_000 });
    registrations.push(registration);
    registration.start();
    await registration.registered();
    registration.setHealth('critical');
    await vi.waitFor(() => expect(server!.registry.all()[0]?.health).toBe('critical'), wait);
    await new Promise((r) => setTimeout(r, 300));
    expect(await heartbeatsCounted(runtime, 'ok')).toBe(1);
    registration.setHealth('critical');
    await new Promise((r) => setTimeout(r, 100));
    expect(await heartbeatsCounted(runtime, 'ok')).toBe(1);
  });

  it('registers as critical at once when the app is already down', async () => {
    server = await startControl();
    const { runtime } = testRuntime();
    const registration = new Registration({ runtime, client: client(server.url), instance: reg, heartbeatIntervalMs: 60_000, initialHealth: 'critical' });
    registrations.push(registration);
    registration.start();
    await vi.waitFor(() => expect(server!.registry.all()[0]?.health).toBe('critical'), wait);
  });

  it('registers again when a heartbeat gets 404, keeping the reported health', async () => {
    server = await startControl();
    const { runtime, logs } = testRuntime();
    const registration = new Registration({ runtime, client: client(server.url), instance: reg, heartbeatIntervalMs: 50 });
    registrations.push(registration);
    registration.start();
    await registration.registered();
    registration.setHealth('critical', 'app down');
    await vi.waitFor(() => expect(server!.registry.all()[0]?.health).toBe('critical'), wait);

    // Another client removes the instance, as the control plane does when a TTL lapses.
    await client(server.url).deregister('greeter-1');
    expect(server.registry.all()).toEqual([]);
    await vi.waitFor(() => expect(server!.registry.all()[0]).toMatchObject({ id: 'greeter-1', health: 'critical' }), wait);
    expect(await heartbeatsCounted(runtime, 'not_found')).toBeGreaterThanOrEqual(1);
    expect(logs.filter((l) => l.msg === 'registered with the control plane')).toHaveLength(2);
  });

  it('keeps trying while the control plane is down, logging once per outage', async () => {
    const probe = await startControl();
    const port = probe.port;
    await probe.close();
    const { runtime, logs } = testRuntime();
    const registration = new Registration({
      runtime,
      client: client(`http://127.0.0.1:${port}`),
      instance: reg,
      heartbeatIntervalMs: 50,
      backoff: { baseMs: 10, maxMs: 40 },
    });
    registrations.push(registration);
    registration.start();
    await vi.waitFor(() => expect(logs.filter((l) => l.msg === 'register failed again').length).toBeGreaterThanOrEqual(3), wait);
    expect(logs.filter((l) => l.level >= 40)).toHaveLength(1);
    expect(registration.isRegisteredNow()).toBe(false);

    server = await startControl(port);
    await registration.registered();
    expect(server.registry.all().map((i) => i.id)).toEqual(['greeter-1']);
    expect(logs.some((l) => l.msg === 'control plane answers again')).toBe(true);

    // Down again during heartbeats: one more warning for the new outage, then quiet.
    await server.close();
    server = undefined;
    await vi.waitFor(async () => expect(await heartbeatsCounted(runtime, 'error')).toBeGreaterThanOrEqual(3), wait);
    expect(logs.filter((l) => l.level >= 40)).toHaveLength(2);

    // Deregistering against a dead control plane is best effort: stop() still completes.
    await registration.stop({ deregister: true });
    await expect(registration.registered()).resolves.toBeUndefined();
  });

  it('rejects registered() when stopped before any success, and leaves the instance when told not to deregister', async () => {
    const probe = await startControl();
    const port = probe.port;
    await probe.close();
    const { runtime } = testRuntime();
    const never = new Registration({ runtime, client: client(`http://127.0.0.1:${port}`), instance: reg, backoff: { baseMs: 10, maxMs: 20 } });
    never.start();
    await never.stop();
    await expect(never.registered()).rejects.toMatchObject({ code: 'CONTROL_UNAVAILABLE' });

    server = await startControl();
    const kept = new Registration({ runtime, client: client(server.url), instance: { ...reg, id: 'greeter-2' } });
    kept.start();
    await kept.registered();
    await kept.stop({ deregister: false });
    expect(server.registry.all().map((i) => i.id)).toEqual(['greeter-2']);
  });
});

describe('Registration over several control-plane replicas', () => {
  const planes: ControlPlane[] = [];
  const proxies: ReplicaProxy[] = [];
  const registrations: Registration[] = [];
  const clients: ControlClient[] = [];

  afterEach(async () => {
    for (const r of registrations.splice(0)) await r.stop({ deregister: false });
    for (const c of clients.splice(0)) c.close();
    for (const p of proxies.splice(0)) await p.kill();
    for (const p of planes.splice(0)) await p.close();
  });

  it('keeps heartbeating through another replica when its current one dies, without a failed beat', async () => {
    const control = await startControl();
    planes.push(control);
    // Two replicas serving one registry, as two control planes on one shared store do.
    const first = await startReplicaProxy(control.url);
    const second = await startReplicaProxy(control.url);
    proxies.push(first, second);
    const { runtime } = testRuntime();
    const multi = new ControlClient([first.url, second.url]);
    clients.push(multi);
    const registration = new Registration({ runtime, client: multi, instance: reg, heartbeatIntervalMs: 50 });
    registrations.push(registration);
    registration.start();
    await registration.registered();
    await vi.waitFor(async () => expect(await heartbeatsCounted(runtime, 'ok')).toBeGreaterThanOrEqual(2), wait);
    expect(second.requests).toEqual([]);

    await first.kill();
    const before = await heartbeatsCounted(runtime, 'ok');
    await vi.waitFor(async () => expect(await heartbeatsCounted(runtime, 'ok')).toBeGreaterThanOrEqual(before + 3), wait);
    expect(await heartbeatsCounted(runtime, 'error')).toBe(0);
    expect(multi.url).toBe(second.url);
    expect(control.registry.all()).toEqual([expect.objectContaining({ id: 'greeter-1', health: 'passing' })]);
  });

  it('re-establishes the instance on a live replica that does not know it (its lease died with the other)', async () => {
    const lost = await startControl();
    const live = await startControl();
    planes.push(live);
    const { runtime } = testRuntime();
    const multi = new ControlClient([lost.url, live.url]);
    clients.push(multi);
    const registration = new Registration({ runtime, client: multi, instance: reg, heartbeatIntervalMs: 50 });
    registrations.push(registration);
    registration.start();
    await registration.registered();
    expect(lost.registry.all().map((i) => i.id)).toEqual(['greeter-1']);
    expect(live.registry.all()).toEqual([]);

    await lost.close();
    await vi.waitFor(() => expect(live.registry.all()).toEqual([expect.objectContaining({ id: 'greeter-1', port: 9001, meta: { version: 'v1' } })]), wait);
    expect(await heartbeatsCounted(runtime, 'not_found')).toBeGreaterThanOrEqual(1);
    expect(await heartbeatsCounted(runtime, 'error')).toBe(0);
  });
});
