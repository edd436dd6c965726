import { FluentClient, type EventModes } from '@fluent-org/logger';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, it, expect } from 'vitest';
import { seededRng, systemClock } from '../../src/core/index.js';
import { createOutboundServer } from '../../src/proxy/outbound-server.js';
import { createAccessLog } from '../../src/telemetry/index.js';
import { createFluentForward, withFluentLogs, type FluentForward, type FluentForwardOptions } from '../../src/telemetry/fluent-forward.js';
import { startFluentReceiver, type FluentEvent, type FluentReceiver } from '../support/index.js';
import { closedPort, instance, namedUpstream, quietRuntime, send, snapshotsOf, until } from '../proxy/request-path-fixtures.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function receiver(port?: number): Promise<FluentReceiver> {
  const r = await startFluentReceiver(port === undefined ? {} : { port });
  cleanups.push(() => r.close());
  return r;
}

function forwarder(port: number, options: Partial<FluentForwardOptions> = {}): { forward: FluentForward; registry: Registry } {
  const registry = new Registry();
  const forward = createFluentForward({ host: '127.0.0.1', port, registry, clock: systemClock, ...options });
  cleanups.push(() => forward.close(500));
  return { forward, registry };
}

async function metric(registry: Registry, name: string): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (found?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

/** Distinct sequence numbers of a tag's events: delivery is at least once, so a resent chunk may repeat some. */
function seqs(events: readonly FluentEvent[], tag: string): Set<number> {
  return new Set(events.filter((e) => e.tag === tag).map((e) => e.record['seq'] as number));
}

describe('Fluent forward: delivery', () => {
  it('delivers every access record and component log line with its tag', async () => {
    const r = await receiver();
    const { forward, registry } = forwarder(r.port);
    for (let seq = 0; seq < 500; seq++) forward.emit('access', { seq, path: `/p/${seq}`, status: 200 });
    const runtime = withFluentLogs({ ...quietRuntime(), logger: pino({ name: 'weft-proxy', level: 'info' }, pino.destination({ dest: '/dev/null', sync: true })) }, forward);
    for (let seq = 0; seq < 20; seq++) runtime.logger.info({ seq }, 'component line');
    runtime.logger.debug({ seq: 99 }, 'below the level: not shipped');

    await until(() => seqs(r.events, 'weft.access').size === 500 && seqs(r.events, 'weft.log').size === 20, 15_000);
    const first = r.events.find((e) => e.tag === 'weft.access' && e.record['seq'] === 7)!;
    expect(first.record).toEqual({ seq: 7, path: '/p/7', status: 200 });
    expect(Math.abs(first.time * 1000 - Date.now())).toBeLessThan(60_000);
    const log = r.events.find((e) => e.tag === 'weft.log')!;
    expect(log.record).toMatchObject({ name: 'weft-proxy', level: 30, msg: 'component line' });
    expect(seqs(r.events, 'weft.log').has(99)).toBe(false);
    expect(r.modes.packed).toBeGreaterThan(0);
    await until(() => forward.buffered() === 0, 10_000);
    expect(await metric(registry, 'weft_fluent_sent_total')).toBe(520);
    expect(await metric(registry, 'weft_fluent_dropped_total')).toBe(0);
    expect(await metric(registry, 'weft_fluent_buffered')).toBe(0);
  });

  it('ships the outbound server’s access log as weft.access events', async () => {
    const r = await receiver();
    const { forward } = forwarder(r.port);
    const a = await namedUpstream('a');
    cleanups.push(() => a.close());
    const log = createAccessLog({ rng: seededRng(1), clock: systemClock, forward: (record) => forward.emit('access', { ...record }) })!;
    const proxy = createOutboundServer({ runtime: quietRuntime(), snapshots: snapshotsOf([instance('greeter-a', a.port)]), localService: 'web', accessLog: log });
    const { port } = await proxy.listen('127.0.0.1', 0);
    cleanups.push(() => proxy.close(0));
    for (let i = 0; i < 10; i++) expect((await send(port, { path: `/n/${i}` })).status).toBe(200);
    await until(() => r.events.filter((e) => e.tag === 'weft.access').length >= 10, 15_000);
    const paths = new Set(r.events.map((e) => e.record['path']));
    for (let i = 0; i < 10; i++) expect(paths.has(`/n/${i}`)).toBe(true);
    expect(r.events[0]!.record).toMatchObject({ direction: 'outbound', source: 'web', destination: 'greeter', upstream_instance: 'greeter-a', status: 200 });
  });

  it('loses no line within the buffer while the receiver is down for 2 s and back on the same port', async () => {
    const r = await receiver();
    const { forward, registry } = forwarder(r.port, { ackTimeoutMs: 1_000 });
    for (let seq = 0; seq < 100; seq++) forward.emit('access', { seq });
    await until(() => seqs(r.events, 'weft.access').size === 100, 15_000);

    await r.stop();
    // Lines keep coming during the outage, a few every 100 ms; emit never waits for the receiver.
    for (let tick = 0; tick < 20; tick++) {
      for (let i = 0; i < 10; i++) forward.emit('access', { seq: 100 + tick * 10 + i });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(forward.buffered()).toBeGreaterThan(0);
    await r.restart();
    await until(() => seqs(r.events, 'weft.access').size === 300, 20_000);
    expect(await metric(registry, 'weft_fluent_dropped_total')).toBe(0);
  }, 40_000);

  it('drops the oldest events beyond the buffer bound and counts them, without blocking the caller', async () => {
    const port = await closedPort();
    const { forward, registry } = forwarder(port, { maxEvents: 50 });
    for (let seq = 0; seq < 300; seq++) forward.emit('access', { seq });
    // Drops are counted as their promises settle; every event is either still held or counted as dropped.
    let dropped = 0;
    await until(() => {
      void metric(registry, 'weft_fluent_dropped_total').then((n) => (dropped = n));
      return dropped >= 250 && dropped + forward.buffered() === 300;
    }, 5_000);
    expect(forward.buffered()).toBeLessThanOrEqual(50);
    expect(await metric(registry, 'weft_fluent_buffered')).toBeLessThanOrEqual(50);
    expect(await metric(registry, 'weft_fluent_sent_total')).toBe(0);
  });
});

describe('Fluent receiver (test support)', () => {
  it.each<[EventModes, 'message' | 'forward' | 'packed' | 'compressed']>([
    ['Message', 'message'],
    ['Forward', 'forward'],
    ['PackedForward', 'packed'],
    ['CompressedPackedForward', 'compressed'],
  ])('decodes %s mode, with acks', async (eventMode, mode) => {
    const r = await receiver();
    const client = new FluentClient('t', { eventMode, socket: { host: '127.0.0.1', port: r.port }, ack: { ackTimeout: 5_000 } });
    cleanups.push(() => client.shutdown());
    await Promise.all([client.emit('x', { n: 1 }), client.emit('x', { n: 2 })]);
    expect(r.events.map((e) => [e.tag, e.record['n']])).toEqual([
      ['t.x', 1],
      ['t.x', 2],
    ]);
    expect(r.modes[mode]).toBeGreaterThan(0);
  });
});
