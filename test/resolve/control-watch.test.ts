// Tests: the watch client against the real control plane, and against a stand-in server for the protocol's failure modes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { startControlPlane, type ControlPlane } from '../../src/control/index.js';
import { seededRng, type Runtime } from '../../src/core/index.js';
import type { Instance, Snapshot } from '../../src/model/index.js';
import { ControlWatch } from '../../src/resolve/index.js';
import { bearerCredentials, ControlClient } from '../../src/workload/index.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { startFakeControlPlane, type FakeControlPlane } from '../support/fake-control-plane.js';

const wait = { timeout: 10_000, interval: 20 };

function testRuntime(): Runtime {
  return { ...createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) }), rng: seededRng(7) };
}

function instance(id: string, service = 'greeter', port = 9000): Instance {
  return { id, service, host: '127.0.0.1', port, weight: 1, protocol: 'http1', meta: {}, tags: [], ttlMs: 10_000, health: 'passing' };
}

function ids(snapshot: Snapshot, service = 'greeter'): string[] {
  return (snapshot.services.get(service) ?? []).map((e) => e.id);
}

async function metric(runtime: Runtime, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const json = await runtime.metrics.getMetricsAsJSON();
  const found = json.find((m) => m.name === name);
  const value = found?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value;
}

async function startControl(options: { port?: number; dataDir?: string } = {}): Promise<ControlPlane> {
  // A restart reuses a port released by our own server a moment ago; retry briefly in case the OS still holds it.
  const deadline = Date.now() + 5_000;
  for (let attempt = 0; ; attempt++) {
    try {
      const runtime = createRuntime({ name: 'control', processMetrics: false, logger: pino({ level: 'silent' }) });
      return await startControlPlane({
        listen: { host: '127.0.0.1', port: options.port ?? 0 },
        ...(options.dataDir === undefined ? { dev: true } : { dataDir: options.dataDir }),
        runtime,
      });
    } catch (err) {
      if (Date.now() > deadline || attempt > 50 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const registration = (id: string, port: number) => ({ id, service: 'greeter', host: '127.0.0.1', port, ttlMs: 60_000 });

describe('ControlWatch against the control plane', () => {
  let control: ControlPlane | undefined;
  let watch: ControlWatch | undefined;
  let client: ControlClient | undefined;
  let dataDir: string | undefined;

  afterEach(async () => {
    watch?.close();
    watch = undefined;
    client?.close();
    client = undefined;
    await control?.close();
    control = undefined;
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    dataDir = undefined;
  });

  it('follows registrations, health changes and deregistrations', async () => {
    control = await startControl();
    client = new ControlClient(control.url);
    await client.register(registration('g1', 9001));
    watch = new ControlWatch({ url: control.url, runtime: testRuntime() }).start();
    await watch.ready();
    expect(ids(watch.current())).toEqual(['g1']);

    await client.register(registration('g2', 9002));
    await client.heartbeat('g1', 'critical', 'app down');
    await vi.waitFor(() => expect(watch!.current().services.get('greeter')?.map((e) => [e.id, e.health])).toEqual([
      ['g1', 'critical'],
      ['g2', 'passing'],
    ]), wait);
    await client.deregister('g1');
    await vi.waitFor(() => expect(ids(watch!.current())).toEqual(['g2']), wait);
    expect(watch.current().version).toBe(control.registry.version());
  });

  it('serves the last snapshot while the control plane is down and resumes without a reset after its restart', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'weft-watch-'));
    control = await startControl({ dataDir });
    const port = control.port;
    // The admin token the control plane wrote to its data dir stays valid across the restart.
    const credentials = bearerCredentials(control.adminToken ?? '');
    client = new ControlClient({ url: control.url, credentials });
    await client.register(registration('g1', 9001));
    const runtime = testRuntime();
    watch = new ControlWatch({ url: control.url, runtime, credentials, backoff: { baseMs: 20, maxMs: 200 } }).start();
    await watch.ready();
    const before = watch.current();

    await control.close();
    control = undefined;
    await vi.waitFor(() => expect(watch!.connected()).toBe(false), wait);
    expect(watch.current()).toBe(before);
    expect(ids(watch.current())).toEqual(['g1']);

    control = await startControl({ port, dataDir });
    await client.register(registration('g2', 9002));
    await vi.waitFor(() => expect(ids(watch!.current())).toEqual(['g1', 'g2']), wait);
    expect(watch.connected()).toBe(true);
    // The durable store kept its versions, so the watch picked up where it left off: still only the first reset.
    expect(await metric(runtime, 'weft_resolve_events_total', { type: 'reset' })).toBe(1);
    expect(await metric(runtime, 'weft_resolve_reconnects_total')).toBeGreaterThanOrEqual(1);
  });

  it('gets a full reset, not a resume, from an in-memory control plane that restarted with another history', async () => {
    control = await startControl();
    const port = control.port;
    client = new ControlClient(control.url);
    await client.register(registration('g1', 9001));
    await client.register(registration('g2', 9002));
    const runtime = testRuntime();
    // Reconnects wait at least a second, so the restarted control plane has its new history by then.
    watch = new ControlWatch({ url: control.url, runtime, backoff: { baseMs: 2000, maxMs: 2000 } }).start();
    await vi.waitFor(() => expect(ids(watch!.current())).toEqual(['g1', 'g2']), wait);

    await control.close();
    control = undefined;
    await vi.waitFor(() => expect(watch!.connected()).toBe(false), wait);
    // The new history reaches the watch's old version with different contents; a resume by version alone would keep g1 and g2.
    control = await startControl({ port });
    await client.register(registration('g3', 9003));
    await client.register(registration('g4', 9004));
    await client.register(registration('g5', 9005));
    await vi.waitFor(() => expect(ids(watch!.current())).toEqual(['g3', 'g4', 'g5']), wait);
    expect(await metric(runtime, 'weft_resolve_events_total', { type: 'reset' })).toBe(2);
  });
});

describe('ControlWatch protocol edge cases', () => {
  let server: FakeControlPlane | undefined;
  let watch: ControlWatch | undefined;

  afterEach(async () => {
    watch?.close();
    watch = undefined;
    await server?.close();
    server = undefined;
  });

  it('builds the snapshot from a reset and then upserts and removes, publishing a new object each time', async () => {
    server = await startFakeControlPlane();
    server.upsert(instance('a'));
    server.upsert(instance('b'));
    const runtime = testRuntime();
    watch = new ControlWatch({ url: server.url, runtime }).start();
    const seen: Snapshot[] = [];
    watch.subscribe((s) => seen.push(s));
    await watch.ready();
    expect(watch.connected()).toBe(true);
    expect(ids(watch.current())).toEqual(['a', 'b']);
    expect(watch.current().version).toBe(2);

    const before = watch.current();
    server.upsert(instance('c', 'other', 9100));
    server.remove('a');
    await vi.waitFor(() => expect(watch?.current().version).toBe(4), wait);
    const after = watch.current();
    expect(after).not.toBe(before);
    expect(ids(after)).toEqual(['b']);
    expect(ids(after, 'other')).toEqual(['c']);
    // The old snapshot is untouched: subscribers may still hold it.
    expect(ids(before)).toEqual(['a', 'b']);
    expect(seen.at(-1)).toBe(after);
    expect(server.watchSinces).toEqual([undefined]);
    expect(await metric(runtime, 'weft_resolve_snapshot_version')).toBe(4);
    expect(await metric(runtime, 'weft_resolve_connected')).toBe(1);
    expect(await metric(runtime, 'weft_resolve_events_total', { type: 'reset' })).toBe(1);
  });

  it('keeps the endpoint array of a service no event touched, and gives a touched one a new array', async () => {
    server = await startFakeControlPlane();
    server.upsert(instance('a1', 'alpha', 9001));
    server.upsert(instance('b1', 'beta', 9101));
    server.upsert(instance('b2', 'beta', 9102));
    watch = new ControlWatch({ url: server.url, runtime: testRuntime() }).start();
    await watch.ready();
    const first = watch.current();
    const beta = first.services.get('beta');
    expect(beta?.map((e) => e.id)).toEqual(['b1', 'b2']);

    // Two events, both about alpha: beta's array (and its endpoints) stay the very same objects.
    server.upsert(instance('a2', 'alpha', 9002));
    server.upsert({ ...instance('a1', 'alpha', 9001), meta: { version: 'v2' } });
    await vi.waitFor(() => expect(watch?.current().version).toBe(5), wait);
    const second = watch.current();
    expect(second.services.get('beta')).toBe(beta);
    expect(second.services.get('alpha')).not.toBe(first.services.get('alpha'));
    expect(ids(second, 'alpha')).toEqual(['a1', 'a2']);

    // A change to any field the data plane reads gives beta a new array; b1's endpoint is kept inside it.
    for (const [n, change] of ([{ weight: 4 }, { health: 'critical' }, { protocol: 'grpc' }, { meta: { zone: 'b' } }] as const).entries()) {
      const before = watch.current().services.get('beta');
      server.upsert({ ...instance('b2', 'beta', 9102), ...change });
      await vi.waitFor(() => expect(watch?.current().version).toBe(6 + n), wait);
      const after = watch.current().services.get('beta');
      expect(after, JSON.stringify(change)).not.toBe(before);
      expect(after?.[0], JSON.stringify(change)).toBe(beta?.[0]);
      expect(after?.[1], JSON.stringify(change)).toMatchObject(change);
    }
    // A heartbeat that changes nothing the data plane reads (here: the health reason) leaves beta's array alone.
    const settled = watch.current().services.get('beta');
    server.upsert({ ...instance('b2', 'beta', 9102), meta: { zone: 'b' }, healthReason: 'noted' });
    await vi.waitFor(() => expect(watch?.current().version).toBe(10), wait);
    expect(watch.current().services.get('beta')).toBe(settled);
  });

  it('reassembles events split across chunks, including inside multi-byte characters', async () => {
    server = await startFakeControlPlane();
    server.chunkBytes = 3;
    server.upsert({ ...instance('a'), meta: { greeting: 'grüß dich — 你好' } });
    watch = new ControlWatch({ url: server.url, runtime: testRuntime() }).start();
    await watch.ready();
    server.upsert(instance('b'));
    await vi.waitFor(() => expect(ids(watch!.current())).toEqual(['a', 'b']), wait);
    expect(watch.current().services.get('greeter')?.[0]?.meta).toEqual({ greeting: 'grüß dich — 你好' });
  });

  it('coalesces the events of one chunk into one snapshot', async () => {
    server = await startFakeControlPlane();
    watch = new ControlWatch({ url: server.url, runtime: testRuntime() }).start();
    await watch.ready();
    const seen: Snapshot[] = [];
    watch.subscribe((s) => seen.push(s));
    const lines = [1, 2, 3].map((n) => JSON.stringify({ type: 'upsert', version: n, instance: instance(`i${n}`) })).join('\n');
    server.writeRaw(`${lines}\n`);
    await vi.waitFor(() => expect(watch!.current().version).toBe(3), wait);
    expect(seen).toHaveLength(1);
    expect(ids(seen[0]!)).toEqual(['i1', 'i2', 'i3']);
  });

  it('keeps the last snapshot while disconnected and resumes with since=<version> without a reset', async () => {
    server = await startFakeControlPlane();
    server.upsert(instance('a'));
    const runtime = testRuntime();
    watch = new ControlWatch({ url: server.url, runtime, backoff: { baseMs: 20, maxMs: 200 } }).start();
    await watch.ready();
    await vi.waitFor(() => expect(server!.watcherCount()).toBe(1), wait);
    const seen: Snapshot[] = [];
    watch.subscribe((s) => seen.push(s));

    server.dropWatchers();
    await vi.waitFor(() => expect(server!.watchSinces).toHaveLength(2), wait);
    expect(server.watchSinces[1]).toBe(1);
    // Nothing changed while away: no reset came back, so nothing was republished.
    expect(ids(watch.current())).toEqual(['a']);
    expect(seen).toHaveLength(0);

    server.upsert(instance('b'));
    await vi.waitFor(() => expect(ids(watch!.current())).toEqual(['a', 'b']), wait);
    expect(seen).toHaveLength(1);
    expect(await metric(runtime, 'weft_resolve_reconnects_total')).toBeGreaterThanOrEqual(1);
  });

  it('serves the last snapshot through a control-plane outage and catches up after it', async () => {
    server = await startFakeControlPlane();
    server.upsert(instance('a'));
    const port = server.port;
    watch = new ControlWatch({ url: server.url, runtime: testRuntime(), backoff: { baseMs: 20, maxMs: 100 } }).start();
    await watch.ready();
    await server.close();
    server = undefined;
    await vi.waitFor(() => expect(watch!.connected()).toBe(false), wait);
    expect(ids(watch.current())).toEqual(['a']);

    // A new, empty server on the same port is behind the client's version: it answers with a reset, which wins.
    server = await startFakeControlPlaneOn(port);
    await vi.waitFor(() => expect(watch!.current().services.size).toBe(0), wait);
    expect(server.watchSinces).toEqual([1]);
    expect(watch.connected()).toBe(true);
    server.upsert(instance('z'));
    await vi.waitFor(() => expect(ids(watch!.current())).toEqual(['z']), wait);
  });

  it('detects a dead connection by silence and reconnects', async () => {
    server = await startFakeControlPlane({ pingIntervalMs: 50 });
    server.upsert(instance('a'));
    watch = new ControlWatch({ url: server.url, runtime: testRuntime(), deadAfterMs: 1_000, backoff: { baseMs: 20, maxMs: 100 } }).start();
    await watch.ready();
    // Pings keep a quiet stream alive well past the dead-connection limit.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(server.watchSinces).toHaveLength(1);

    server.silent = true;
    await vi.waitFor(() => expect(server!.watchSinces.length).toBeGreaterThanOrEqual(2), wait);
    expect(server.watchSinces[1]).toBe(1);
    server.silent = false;
    server.upsert(instance('b'));
    await vi.waitFor(() => expect(ids(watch!.current())).toEqual(['a', 'b']), wait);
  });

  it('drops the stream on a bad line, keeps what came before it, and resumes', async () => {
    server = await startFakeControlPlane();
    server.upsert(instance('a'));
    watch = new ControlWatch({ url: server.url, runtime: testRuntime(), backoff: { baseMs: 20, maxMs: 100 } }).start();
    await watch.ready();
    const seen: Snapshot[] = [];
    watch.subscribe((s) => seen.push(s));
    // The good line is not the server's truth (it bypasses its store), so after reconnecting the server's reset undoes it.
    const good = JSON.stringify({ type: 'upsert', version: 2, instance: instance('b') });
    server.writeRaw(`${good}\n{"type":"upsert","version":3,"instance":{"id":"c"}}\n`);
    await vi.waitFor(() => expect(server!.watchSinces).toHaveLength(2), wait);
    expect(ids(seen[0]!)).toEqual(['a', 'b']);
    expect(server.watchSinces[1]).toBe(2);
    await vi.waitFor(() => expect(ids(watch!.current())).toEqual(['a']), wait);

    server.writeRaw('this is not json\n');
    await vi.waitFor(() => expect(server!.watchSinces).toHaveLength(3), wait);
    expect(server.watchSinces[2]).toBe(1);
    server.upsert(instance('d'));
    await vi.waitFor(() => expect(ids(watch!.current())).toEqual(['a', 'd']), wait);
  });

  it('keeps retrying with backoff while nothing listens, then connects', async () => {
    const probe = await startFakeControlPlane();
    const port = probe.port;
    await probe.close();
    watch = new ControlWatch({ url: `http://127.0.0.1:${port}`, runtime: testRuntime(), backoff: { baseMs: 20, maxMs: 100 } }).start();
    await new Promise((r) => setTimeout(r, 200));
    expect(watch.connected()).toBe(false);
    expect(watch.current().version).toBe(0);
    server = await startFakeControlPlaneOn(port);
    server.upsert(instance('a'));
    await watch.ready();
    expect(ids(watch.current())).toEqual(['a']);
  });
});

async function startFakeControlPlaneOn(port: number): Promise<FakeControlPlane> {
  // The port was just released by our own server; retry briefly in case the OS has not let go of it yet.
  const deadline = Date.now() + 5_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await startFakeControlPlane({ port });
    } catch (err) {
      if (Date.now() > deadline || attempt > 50) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
