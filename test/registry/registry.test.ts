// Registry: registration validation, TTL health (critical, then removed), heartbeats, restarts and resumable watch history.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, type Runtime } from '../../src/core/index.js';
import type { WatchEvent } from '../../src/model/index.js';
import { EmbeddedBackend, MemoryBackend, Registry, TTL_EXPIRED, type RegistryBackend } from '../../src/registry/index.js';
import { createRuntime } from '../../src/telemetry/index.js';

function manualRuntime(): { runtime: Runtime; clock: ManualClock } {
  const clock = new ManualClock(1_000);
  return { runtime: { ...createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) }), clock }, clock };
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function openRegistry(options = {}, backend: RegistryBackend = new MemoryBackend()) {
  const { runtime, clock } = manualRuntime();
  // A long sweep interval: these tests drive sweep() themselves, on the manual clock.
  const registry = await Registry.open(backend, runtime, { sweepIntervalMs: 3_600_000, ...options });
  cleanups.push(async () => {
    await registry.close();
    await backend.close();
  });
  return { registry, clock, runtime, backend };
}

const body = (over: Record<string, unknown> = {}) => ({ service: 'greeter', host: '127.0.0.1', port: 8080, ttlMs: 1000, ...over });

describe('Registry', () => {
  it('registers with defaults, re-registers as an update, and deregisters', async () => {
    const { registry } = await openRegistry();
    const first = await registry.register(body(), 'g-1');
    expect(first).toMatchObject({ created: true, version: 1, instance: { id: 'g-1', service: 'greeter', weight: 1, meta: {}, ttlMs: 1000, health: 'passing' } });
    expect(registry.get('g-1')).toEqual(first.instance);
    const second = await registry.register(body({ id: 'g-1', port: 9090 }));
    expect(second).toMatchObject({ created: false, version: 2, instance: { port: 9090 } });
    await registry.register(body({ service: 'auth' }), 'a-1');
    expect(registry.services()).toEqual([
      { name: 'auth', instances: 1, passing: 1, critical: 0 },
      { name: 'greeter', instances: 1, passing: 1, critical: 0 },
    ]);
    expect((await registry.deregister('g-1')).instance.id).toBe('g-1');
    expect(registry.instances('greeter')).toEqual([]);
    await expect(registry.deregister('g-1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(registry.version()).toBe(4);
  });

  it('rejects invalid registrations naming the field, storing nothing', async () => {
    const { registry } = await openRegistry();
    const cases: Array<[unknown, string | undefined, string]> = [
      [body({ port: '80' }), 'x', 'port'],
      [body({ port: 70000 }), 'x', 'port'],
      [{ host: 'h', port: 1 }, 'x', 'service'],
      [body({ extra: true }), 'x', 'extra'],
      [body({ id: 'other' }), 'x', 'id'],
      [body(), undefined, 'id'],
      [body(), 'bad id!', 'id'],
      [body({ meta: { k: 5 } }), 'x', 'meta.k'],
    ];
    for (const [input, pathId, field] of cases) {
      await expect(registry.register(input, pathId)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field });
    }
    expect(registry.all()).toEqual([]);
    expect(registry.version()).toBe(0);
  });

  it('marks a lapsed instance critical, then removes it after criticalRemoveAfterMs', async () => {
    const { registry, clock } = await openRegistry({ criticalRemoveAfterMs: 500 });
    await registry.register(body(), 'g-1');
    clock.advance(999);
    registry.sweep();
    expect(registry.get('g-1')?.health).toBe('passing');
    clock.advance(1);
    registry.sweep();
    await until(() => registry.get('g-1')?.health === 'critical', 'critical');
    expect(registry.get('g-1')).toMatchObject({ health: 'critical', healthReason: TTL_EXPIRED });
    clock.advance(499);
    registry.sweep();
    expect(registry.get('g-1')).toBeDefined();
    clock.advance(1);
    registry.sweep();
    await until(() => registry.get('g-1') === undefined, 'removal');
  });

  it('heartbeats renew the TTL without writing, and only health changes are written', async () => {
    const { registry, clock } = await openRegistry();
    await registry.register(body(), 'g-1');
    for (let i = 0; i < 5; i++) {
      clock.advance(800);
      const beat = await registry.heartbeat('g-1', undefined);
      expect(beat.version).toBe(1);
      registry.sweep();
    }
    expect(registry.get('g-1')?.health).toBe('passing');
    expect(registry.version()).toBe(1);
    await expect(registry.heartbeat('nope', {})).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(registry.heartbeat('g-1', { status: 'sick' })).rejects.toMatchObject({ field: 'status' });
  });

  it('an instance reporting critical by heartbeat stays registered and critical', async () => {
    const { registry, clock } = await openRegistry({ criticalRemoveAfterMs: 100 });
    await registry.register(body(), 'g-1');
    const beat = await registry.heartbeat('g-1', { status: 'critical', reason: 'app down' });
    expect(beat).toMatchObject({ version: 2, instance: { health: 'critical', healthReason: 'app down' } });
    for (let i = 0; i < 10; i++) {
      clock.advance(500);
      await registry.heartbeat('g-1', { status: 'critical', reason: 'app down' });
      registry.sweep();
    }
    expect(registry.get('g-1')).toMatchObject({ health: 'critical', healthReason: 'app down' });
    expect(registry.version()).toBe(2);
    const back = await registry.heartbeat('g-1', {});
    expect(back.instance.health).toBe('passing');
    expect(back.instance.healthReason).toBeUndefined();
  });

  it('a lapsed instance that heartbeats again becomes passing', async () => {
    const { registry, clock } = await openRegistry();
    await registry.register(body(), 'g-1');
    clock.advance(1500);
    registry.sweep();
    await until(() => registry.get('g-1')?.health === 'critical', 'critical');
    expect((await registry.heartbeat('g-1', {})).instance.health).toBe('passing');
  });

  it('gives every loaded instance a fresh TTL window after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-reg-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const { runtime } = manualRuntime();
    const store = await EmbeddedBackend.open(dir, runtime);
    const before = await Registry.open(store, runtime, { sweepIntervalMs: 3_600_000 });
    await before.register(body(), 'g-1');
    await before.close();
    await store.close();

    const { registry, clock } = await openRegistry({}, await EmbeddedBackend.open(dir, manualRuntime().runtime));
    expect(registry.get('g-1')?.health).toBe('passing');
    clock.advance(900);
    registry.sweep();
    await registry.heartbeat('g-1', {});
    clock.advance(900);
    registry.sweep();
    await new Promise((r) => setTimeout(r, 20));
    expect(registry.get('g-1')?.health).toBe('passing');
    expect(registry.version()).toBe(1);
  });

  it('reads records stored without a protocol (older versions) or with one it does not know (newer ones) as http1', async () => {
    const backend = new MemoryBackend();
    const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    const stored = (id: string, extra: Record<string, unknown> = {}) => ({ id, service: 'greeter', host: '127.0.0.1', port: 8080, weight: 1, meta: {}, tags: [], ttlMs: 1000, health: 'passing', ...extra });
    await backend.put('instances/old-1', bytes(stored('old-1')));
    await backend.put('instances/new-1', bytes(stored('new-1', { protocol: 'http3' })));
    await backend.put('instances/grpc-1', bytes(stored('grpc-1', { protocol: 'grpc' })));
    const { registry } = await openRegistry({}, backend);
    expect(registry.get('old-1')).toEqual({ ...stored('old-1'), protocol: 'http1' });
    expect(registry.get('new-1')?.protocol).toBe('http1');
    expect(registry.get('grpc-1')?.protocol).toBe('grpc');
    const seen: WatchEvent[] = [];
    const sub = registry.watch(undefined, (event) => seen.push(event));
    cleanups.push(async () => sub.unsubscribe());
    expect(sub.initial[0]).toMatchObject({ type: 'reset', instances: expect.arrayContaining([expect.objectContaining({ id: 'old-1', protocol: 'http1' })]) });
    // A write by an older peer on the same store arrives through the backend watch, and reads the same way.
    await backend.put('instances/old-2', bytes(stored('old-2')));
    await until(() => registry.get('old-2') !== undefined, 'the older peer\'s write');
    expect(registry.get('old-2')?.protocol).toBe('http1');
    expect(seen).toEqual([expect.objectContaining({ type: 'upsert', instance: expect.objectContaining({ id: 'old-2', protocol: 'http1' }) })]);
    // Its next write keeps the instance as it was read: the record now names its protocol.
    await registry.heartbeat('old-1', { status: 'critical' });
    const rewritten = (await backend.list('instances/old-1')).items[0]!;
    expect(JSON.parse(new TextDecoder().decode(rewritten.value))).toMatchObject({ id: 'old-1', protocol: 'http1', health: 'critical' });
  });

  it('sees writes made by another registry on the same backend', async () => {
    const { registry, backend, runtime } = await openRegistry();
    const other = await Registry.open(backend, runtime, { sweepIntervalMs: 3_600_000 });
    cleanups.push(() => other.close());
    await other.register(body(), 'g-9');
    await until(() => registry.get('g-9') !== undefined, 'replicated write');
  });

  describe('watch', () => {
    async function withHistory(historySize: number) {
      const opened = await openRegistry({ historySize });
      for (let i = 1; i <= 6; i++) await opened.registry.register(body(), `g-${i}`);
      return opened;
    }

    it('without since starts with a reset holding the full state, then streams changes', async () => {
      const { registry } = await withHistory(100);
      const seen: WatchEvent[] = [];
      const sub = registry.watch(undefined, (e) => seen.push(e));
      expect(sub.initial).toHaveLength(1);
      expect(sub.initial[0]).toMatchObject({ type: 'reset', version: 6 });
      expect(sub.initial[0]!.type === 'reset' && sub.initial[0]!.instances.map((i) => i.id)).toEqual(['g-1', 'g-2', 'g-3', 'g-4', 'g-5', 'g-6']);
      await registry.deregister('g-2');
      await registry.heartbeat('g-3', { status: 'critical' });
      expect(seen).toEqual([
        { type: 'remove', version: 7, id: 'g-2', service: 'greeter' },
        expect.objectContaining({ type: 'upsert', version: 8, instance: expect.objectContaining({ id: 'g-3', health: 'critical' }) }),
      ]);
      sub.unsubscribe();
    });

    it('resumes from a version inside the ring with exactly the missed events', async () => {
      const { registry } = await withHistory(4);
      const sub = registry.watch(3, () => undefined);
      expect(sub.initial.map((e) => [e.type, e.version])).toEqual([
        ['upsert', 4],
        ['upsert', 5],
        ['upsert', 6],
      ]);
      sub.unsubscribe();
      expect(registry.watch(6, () => undefined).initial).toEqual([]);
    });

    it('starts with a reset when since is too old or newer than the registry', async () => {
      const { registry } = await withHistory(4);
      expect(registry.watch(1, () => undefined).initial.map((e) => e.type)).toEqual(['reset']);
      expect(registry.watch(2, () => undefined).initial.map((e) => e.type)).toEqual(['upsert', 'upsert', 'upsert', 'upsert']);
      expect(registry.watch(99, () => undefined).initial.map((e) => e.type)).toEqual(['reset']);
    });
  });

  it('exposes registry metrics on the runtime registry', async () => {
    const { registry, runtime } = await openRegistry();
    await registry.register(body(), 'g-1');
    await registry.register(body({ service: 'auth' }), 'a-1');
    await registry.heartbeat('a-1', { status: 'critical' });
    const text = await runtime.metrics.metrics();
    expect(text).toContain('weft_registry_instances{service="greeter",health="passing"} 1');
    expect(text).toContain('weft_registry_instances{service="auth",health="critical"} 1');
    expect(text).toContain('weft_registry_version 3');
    expect(text).toContain('weft_registry_registrations_total 2');
  });
});
