// Tests: the watch stream over several control-plane replicas — it moves to the next one when its replica dies,
// resumes there with ?since=&store= (no second reset) and keeps serving its snapshot throughout.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { startControlPlane, type ControlPlane } from '../../src/control/index.js';
import { seededRng, type Runtime } from '../../src/core/index.js';
import type { Snapshot } from '../../src/model/index.js';
import { ControlWatch } from '../../src/resolve/index.js';
import { ControlClient } from '../../src/workload/index.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { startFakeControlPlane, type FakeControlPlane } from '../support/fake-control-plane.js';
import { startReplicaProxy, type ReplicaProxy } from '../support/replica-proxy.js';

const wait = { timeout: 10_000, interval: 20 };

function testRuntime(): Runtime {
  return { ...createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) }), rng: seededRng(5) };
}

async function metric(runtime: Runtime, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const json = await runtime.metrics.getMetricsAsJSON();
  const found = json.find((m) => m.name === name);
  return found?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

function ids(snapshot: Snapshot): string[] {
  return (snapshot.services.get('greeter') ?? []).map((e) => e.id);
}

const registration = (id: string, port: number) => ({ id, service: 'greeter', host: '127.0.0.1', port, ttlMs: 60_000 });

describe('ControlWatch over several replicas', () => {
  let control: ControlPlane | undefined;
  const proxies: ReplicaProxy[] = [];
  const fakes: FakeControlPlane[] = [];
  let watch: ControlWatch | undefined;
  let client: ControlClient | undefined;

  afterEach(async () => {
    watch?.close();
    watch = undefined;
    client?.close();
    client = undefined;
    for (const p of proxies.splice(0)) await p.kill();
    for (const f of fakes.splice(0)) await f.close();
    await control?.close();
    control = undefined;
  });

  it('moves to the next replica of the same store when its replica dies, resuming without a reset and keeping its snapshot', async () => {
    const runtime = createRuntime({ name: 'control', processMetrics: false, logger: pino({ level: 'silent' }) });
    control = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dev: true, runtime });
    // Two replicas serving one state: both answer from the same registry, so they share its store id and versions.
    const first = await startReplicaProxy(control.url);
    const second = await startReplicaProxy(control.url);
    proxies.push(first, second);
    client = new ControlClient(control.url);
    await client.register(registration('g1', 9001));
    await client.register(registration('g2', 9002));

    const watchRuntime = testRuntime();
    watch = new ControlWatch({ url: [first.url, second.url], runtime: watchRuntime, backoff: { baseMs: 20, maxMs: 200 } }).start();
    const published: Snapshot[] = [];
    watch.subscribe((s) => published.push(s));
    await watch.ready();
    expect(ids(watch.current())).toEqual(['g1', 'g2']);
    expect(watch.currentUrl()).toBe(first.url);
    expect(first.requests).toEqual(['GET /api/v1/watch']);
    const before = watch.current();
    const version = watch.lastVersion();

    await first.kill();
    await vi.waitFor(() => expect(second.requests.length).toBeGreaterThan(0), wait);
    // Same store, same versions: the other replica is asked only for what came after our version.
    expect(second.requests[0]).toBe(`GET /api/v1/watch?since=${version}&store=${encodeURIComponent(control.registry.storeId())}`);
    expect(watch.current()).toBe(before);
    await vi.waitFor(() => expect(watch!.connected()).toBe(true), wait);
    expect(watch.currentUrl()).toBe(second.url);

    await client.register(registration('g3', 9003));
    await vi.waitFor(() => expect(ids(watch!.current())).toEqual(['g1', 'g2', 'g3']), wait);
    expect(await metric(watchRuntime, 'weft_resolve_events_total', { type: 'reset' })).toBe(1);
    expect(await metric(watchRuntime, 'weft_resolve_control_replica')).toBe(1);
    expect(await metric(watchRuntime, 'weft_resolve_connected')).toBe(1);
    // Never an empty or shrunken snapshot on the way: the data plane kept serving what it knew.
    for (const snapshot of published) expect(ids(snapshot).slice(0, 2)).toEqual(['g1', 'g2']);

    // Every replica gone: still the last snapshot.
    const last = watch.current();
    await second.kill();
    await vi.waitFor(() => expect(watch!.connected()).toBe(false), wait);
    expect(watch.current()).toBe(last);
    expect(ids(watch.current())).toEqual(['g1', 'g2', 'g3']);
  });

  it('goes round the replicas while all are down and follows the first that comes back', async () => {
    const a = await startFakeControlPlane({ pingIntervalMs: 100 });
    const b = await startFakeControlPlane({ pingIntervalMs: 100 });
    fakes.push(a, b);
    a.upsert({ ...registration('g1', 9001), weight: 1, protocol: 'http1', meta: {}, tags: [], health: 'passing' });
    const runtime = testRuntime();
    watch = new ControlWatch({ url: `${a.url},${b.url}`, runtime, backoff: { baseMs: 20, maxMs: 100 } }).start();
    await watch.ready();
    const bPort = b.port;
    await b.close();
    fakes.splice(fakes.indexOf(b), 1);
    await a.close();
    fakes.splice(fakes.indexOf(a), 1);
    await vi.waitFor(async () => expect(await metric(runtime, 'weft_resolve_reconnects_total')).toBeGreaterThanOrEqual(4), wait);
    expect(watch.connected()).toBe(false);
    expect(ids(watch.current())).toEqual(['g1']);

    // Only the second comes back (with the same history, as a replica of one store would): the watch finds it and follows it.
    const back = await startFakeControlPlane({ port: bPort, pingIntervalMs: 100 });
    fakes.push(back);
    back.upsert({ ...registration('g1', 9001), weight: 1, protocol: 'http1', meta: {}, tags: [], health: 'passing' });
    back.upsert({ ...registration('g7', 9007), weight: 1, protocol: 'http1', meta: {}, tags: [], health: 'passing' });
    await vi.waitFor(() => expect(watch!.connected()).toBe(true), wait);
    await vi.waitFor(() => expect(ids(watch!.current())).toEqual(['g1', 'g7']), wait);
    expect(watch.currentUrl()).toBe(back.url);
  });
});
