// Resolve: the sidecar's watch publishes snapshots carrying service policies, through the control client's policy calls on a real control plane.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../src/control/index.js';
import { seededRng, type Runtime } from '../../src/core/index.js';
import type { Snapshot } from '../../src/model/index.js';
import { ControlWatch } from '../../src/resolve/index.js';
import { bearerCredentials, ControlClient, type ControlCredentials } from '../../src/workload/index.js';
import { createRuntime } from '../../src/telemetry/index.js';

const wait = { timeout: 10_000, interval: 20 };
const testRuntime = (): Runtime => ({ ...createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) }), rng: seededRng(3) });

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startControl(options: { port?: number; dataDir?: string } = {}): Promise<ControlPlane> {
  // A restart reuses a port our own server released a moment ago; retry briefly in case the OS still holds it.
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      const plane = await startControlPlane({
        listen: { host: '127.0.0.1', port: options.port ?? 0 },
        ...(options.dataDir ? { dataDir: options.dataDir } : { dev: true }),
        runtime: createRuntime({ name: 'control', processMetrics: false, logger: pino({ level: 'silent' }) }),
      });
      cleanups.push(() => plane.close());
      return plane;
    } catch (error) {
      if (Date.now() > deadline || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The admin token of a control plane with a data dir (undefined under dev, which needs none). */
function credentialsOf(plane: ControlPlane): { credentials?: ControlCredentials } {
  return plane.adminToken === undefined ? {} : { credentials: bearerCredentials(plane.adminToken) };
}

function follow(url: string, runtime = testRuntime(), auth: { credentials?: ControlCredentials } = {}): { watch: ControlWatch; snapshots: Snapshot[] } {
  const watch = new ControlWatch({ url, runtime, ...auth, backoff: { baseMs: 20, maxMs: 200 } });
  const snapshots: Snapshot[] = [];
  watch.subscribe((snapshot) => snapshots.push(snapshot));
  cleanups.push(() => watch.close());
  return { watch: watch.start(), snapshots };
}

function client(url: string, auth: { credentials?: ControlCredentials } = {}): ControlClient {
  const c = new ControlClient({ url, ...auth });
  cleanups.push(() => c.close());
  return c;
}

async function resets(runtime: Runtime): Promise<number | undefined> {
  const json = await runtime.metrics.getMetricsAsJSON();
  return json.find((m) => m.name === 'weft_resolve_events_total')?.values.find((v) => v.labels.type === 'reset')?.value;
}

describe('ControlWatch with policies', () => {
  it('carries policies in its snapshots, publishing on every policy change and keeping unchanged ones identical', async () => {
    const plane = await startControl();
    const api = client(plane.url);
    await api.register({ id: 'g-1', service: 'greeter', host: '127.0.0.1', port: 9000 });
    const stored = await api.putPolicy({ service: 'greeter', loadBalancer: { algorithm: 'p2c-ewma' } });
    expect(stored).toMatchObject({ changed: true, policy: { service: 'greeter' } });

    const { watch } = follow(plane.url);
    await watch.ready();
    expect(watch.current().policies.get('greeter')).toEqual(stored.policy);
    expect(watch.current().services.get('greeter')?.map((e) => e.id)).toEqual(['g-1']);

    const before = watch.current();
    await api.putPolicy({ service: 'billing', retry: { attempts: 1 } });
    await expect.poll(() => watch.current().policies.get('billing')?.retry.attempts, wait).toBe(1);
    // Data-plane stages may rebuild per service only when its policy object changed.
    expect(watch.current().policies.get('greeter')).toBe(before.policies.get('greeter'));
    expect(before.policies.has('billing')).toBe(false);

    expect((await api.policies()).policies.map((p) => p.service)).toEqual(['billing', 'greeter']);
    expect((await api.policy('billing')).policy.retry.attempts).toBe(1);
    await api.deletePolicy('greeter');
    await expect.poll(() => watch.current().policies.has('greeter'), wait).toBe(false);
    expect(watch.current().policies.has('billing')).toBe(true);
    expect(watch.lastVersion()).toBe(plane.registry.version());

    await expect(api.policy('greeter')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(api.deletePolicy('greeter')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(api.putPolicy({ service: 'greeter', timeout: { requestMs: -1 } })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'timeout.requestMs' });
  });

  it('resumes after a control-plane restart without a reset and keeps following policies', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-watch-policy-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const first = await startControl({ dataDir: dir });
    await client(first.url, credentialsOf(first)).putPolicy({ service: 'greeter' });
    const runtime = testRuntime();
    const { watch } = follow(first.url, runtime, credentialsOf(first));
    await watch.ready();
    expect(await resets(runtime)).toBe(1);

    await first.close();
    const second = await startControl({ dataDir: dir, port: first.port });
    expect(second.adminToken).toBe(first.adminToken);
    await client(second.url, credentialsOf(second)).putPolicy({ service: 'greeter', timeout: { requestMs: 700 } });
    await expect.poll(() => watch.current().policies.get('greeter')?.timeout.requestMs, wait).toBe(700);
    expect(await resets(runtime)).toBe(1);
  });
});
