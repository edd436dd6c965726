import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it, expect } from 'vitest';
import { seededRng, systemClock } from '../../src/core/index.js';
import { createInboundServer } from '../../src/proxy/inbound-server.js';
import { createOutboundServer, type OutboundServerOptions } from '../../src/proxy/outbound-server.js';
import { createAccessLog, traceIdOf, type AccessLog, type AccessRecord } from '../../src/telemetry/index.js';
import { closedPort, instance, namedUpstream, quietRuntime, send, snapshotsOf, startServer, until, type TestServer } from '../proxy/request-path-fixtures.js';

const FIELDS = [
  'time', 'direction', 'method', 'authority', 'path', 'status', 'duration_ms', 'bytes_in', 'bytes_out', 'upstream',
  'upstream_instance', 'attempts', 'retries', 'response_flags', 'trace_id', 'source', 'destination',
].sort();

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function server(started: Promise<TestServer>): Promise<TestServer> {
  const s = await started;
  cleanups.push(() => s.close());
  return s;
}

/** An access log that keeps its records in memory as well (the Fluent forwarder's hook). */
function collecting(options: { path?: string; sample?: number; seed?: number } = {}): { log: AccessLog; records: AccessRecord[] } {
  const records: AccessRecord[] = [];
  const log = createAccessLog({ ...options, rng: seededRng(options.seed ?? 7), clock: systemClock, forward: (r) => records.push(r) })!;
  cleanups.push(() => log.close());
  return { log, records };
}

async function outbound(options: Omit<OutboundServerOptions, 'runtime'>): Promise<number> {
  const proxy = createOutboundServer({ runtime: quietRuntime(), localService: 'web', ...options });
  const { port } = await proxy.listen('127.0.0.1', 0);
  cleanups.push(() => proxy.close(0));
  return port;
}

describe('access log: records of the outbound server', () => {
  it('writes one JSON line per request with every field to the file, asynchronously', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-access-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'logs', 'access.log');
    const a = await server(namedUpstream('a'));
    const records: AccessRecord[] = [];
    const log = createAccessLog({ path, rng: seededRng(1), clock: systemClock, forward: (r) => records.push(r) })!;
    const port = await outbound({ snapshots: snapshotsOf([instance('greeter-a', a.port)]), accessLog: log });
    const before = Date.now();
    const reply = await send(port, { host: 'greeter.weft:8080', path: '/hello?x=1', method: 'POST', body: 'hello', headers: { traceparent: TRACEPARENT } });
    expect(reply.status).toBe(200);
    await send(port, { path: '/second' });
    await until(() => records.length === 2);
    await log.close();

    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(2);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const line of parsed) expect(Object.keys(line).sort()).toEqual(['log', ...FIELDS].sort());
    expect(parsed).toEqual(records.map((r) => ({ log: 'access', ...r })));
    const first = parsed[0]!;
    expect(first).toMatchObject({
      direction: 'outbound',
      method: 'POST',
      authority: 'greeter.weft:8080',
      path: '/hello?x=1',
      status: 200,
      bytes_in: 5,
      upstream: `127.0.0.1:${a.port}`,
      upstream_instance: 'greeter-a',
      attempts: 1,
      retries: 0,
      response_flags: '',
      trace_id: TRACE_ID,
      source: 'web',
      destination: 'greeter',
    });
    // The body the client read, plus the status line and headers.
    expect(first['bytes_out']).toBeGreaterThan(Buffer.byteLength(reply.body));
    expect(first['duration_ms']).toBeGreaterThanOrEqual(0);
    const started = Date.parse(first['time'] as string);
    expect(started).toBeGreaterThanOrEqual(before - 1000);
    expect(started).toBeLessThanOrEqual(Date.now());
    expect(parsed[1]).toMatchObject({ path: '/second', method: 'GET', bytes_in: 0, trace_id: '' });
  });

  it('counts the attempts of a request retried after a refused connection', async () => {
    const alive = await server(namedUpstream('alive'));
    const dead = await closedPort();
    const { log, records } = collecting();
    const port = await outbound({ snapshots: snapshotsOf([instance('greeter-dead', dead), instance('greeter-alive', alive.port)]), accessLog: log });
    for (let i = 0; i < 6; i++) expect((await send(port)).status).toBe(200);
    await until(() => records.length === 6);
    for (const record of records) {
      expect(record).toMatchObject({ status: 200, upstream_instance: 'greeter-alive', upstream: `127.0.0.1:${alive.port}`, response_flags: '' });
      expect(record.retries).toBe(record.attempts - 1);
    }
    // Round-robin over both endpoints sends some first attempts to the dead one.
    expect(records.some((r) => r.attempts === 2 && r.retries === 1)).toBe(true);
  });

  it('flags synthetic replies with their weft error code: NO_ENDPOINTS for an unknown or an unhealthy service', async () => {
    const a = await server(namedUpstream('a'));
    const { log, records } = collecting();
    const port = await outbound({ snapshots: snapshotsOf([instance('greeter-a', a.port, { health: 'critical' })]), accessLog: log });
    const unknown = await send(port, { host: 'nosuch.weft', path: '/x' });
    const unhealthy = await send(port, { path: '/y' });
    expect([unknown.status, unhealthy.status]).toEqual([503, 503]);
    await until(() => records.length === 2);
    const byPath = new Map(records.map((r) => [r.path, r]));
    for (const [path, destination] of [['/x', 'nosuch'], ['/y', 'greeter']] as const) {
      const record = byPath.get(path)!;
      expect(Object.keys(record).sort()).toEqual(FIELDS);
      expect(record).toMatchObject({ status: 503, response_flags: 'NO_ENDPOINTS', attempts: 0, retries: 0, upstream: '', source: 'web', destination });
      expect(record.bytes_out).toBeGreaterThan(0);
    }
  });

  it('flags a 504 with UPSTREAM_TIMEOUT and names the endpoint that did not answer', async () => {
    const silent = await server(startServer(() => {}));
    const { log, records } = collecting();
    const port = await outbound({ snapshots: snapshotsOf([instance('greeter-slow', silent.port)]), accessLog: log, responseTimeoutMs: 200, maxAttempts: 1 });
    const reply = await send(port);
    expect(reply.status).toBe(504);
    await until(() => records.length === 1);
    expect(records[0]).toMatchObject({ status: 504, response_flags: 'UPSTREAM_TIMEOUT', attempts: 1, upstream_instance: 'greeter-slow' });
    expect(records[0]!.duration_ms).toBeGreaterThanOrEqual(150);
  });

  it('samples with the runtime Rng: 0.25 of 400 requests lands within 100 ± 35', async () => {
    const a = await server(namedUpstream('a'));
    const { log, records } = collecting({ sample: 0.25, seed: 42 });
    const port = await outbound({ snapshots: snapshotsOf([instance('greeter-a', a.port)]), accessLog: log });
    for (let batch = 0; batch < 40; batch++) {
      const replies = await Promise.all(Array.from({ length: 10 }, () => send(port)));
      for (const reply of replies) expect(reply.status).toBe(200);
    }
    // One draw per request from the seeded Rng: the count is known in advance, and lies within the stated bound.
    const rng = seededRng(42);
    let expected = 0;
    for (let i = 0; i < 400; i++) if (rng.next() < 0.25) expected++;
    expect(Math.abs(expected - 100)).toBeLessThanOrEqual(35);
    // Lines are written as exchanges close, a moment after the client has its reply.
    await until(() => records.length === expected);
    expect(records.every((r) => r.status === 200)).toBe(true);
  });

  it('draws a sample per request: 0 logs nothing, 1 logs everything, 0.25 of 4000 draws within ±4 %', () => {
    const none = createAccessLog({ sample: 0, rng: seededRng(1), clock: systemClock, forward: () => {} })!;
    const all = createAccessLog({ sample: 1, rng: seededRng(1), clock: systemClock, forward: () => {} })!;
    const quarter = createAccessLog({ sample: 0.25, rng: seededRng(3), clock: systemClock, forward: () => {} })!;
    let counts = [0, 0, 0];
    for (let i = 0; i < 4000; i++) counts = [counts[0]! + Number(none.sampled()), counts[1]! + Number(all.sampled()), counts[2]! + Number(quarter.sampled())];
    expect(counts[0]).toBe(0);
    expect(counts[1]).toBe(4000);
    expect(Math.abs(counts[2]! - 1000)).toBeLessThanOrEqual(160);
    expect(() => createAccessLog({ sample: 1.5, rng: seededRng(1), clock: systemClock, forward: () => {} })).toThrow(/0 to 1/);
  });

  it('is off without a file or a forwarder: nothing is created', () => {
    expect(createAccessLog({ rng: seededRng(1), clock: systemClock })).toBeNull();
  });
});

describe('access log: records of the inbound server', () => {
  it('logs the request to the local app, and APP_UNAVAILABLE when the app is down', async () => {
    const app = await server(namedUpstream('app'));
    const { log, records } = collecting();
    const inbound = createInboundServer({ runtime: quietRuntime(), appPort: app.port, service: 'greeter', accessLog: log });
    const { port } = await inbound.listen('127.0.0.1', 0);
    cleanups.push(() => inbound.close(0));
    const reply = await send(port, { path: '/in', method: 'PUT', body: 'abc', headers: { traceparent: TRACEPARENT } });
    expect(reply.status).toBe(200);
    await until(() => records.length === 1);
    expect(Object.keys(records[0]!).sort()).toEqual(FIELDS);
    expect(records[0]).toMatchObject({
      direction: 'inbound', method: 'PUT', path: '/in', status: 200, bytes_in: 3, upstream: `127.0.0.1:${app.port}`,
      attempts: 1, retries: 0, response_flags: '', trace_id: TRACE_ID, destination: 'greeter', authority: 'greeter',
    });

    const down = await closedPort();
    const { log: log2, records: records2 } = collecting();
    const orphan = createInboundServer({ runtime: quietRuntime(), appPort: down, service: 'greeter', accessLog: log2 });
    const { port: port2 } = await orphan.listen('127.0.0.1', 0);
    cleanups.push(() => orphan.close(0));
    expect((await send(port2)).status).toBe(503);
    await until(() => records2.length === 1);
    expect(records2[0]).toMatchObject({ status: 503, response_flags: 'APP_UNAVAILABLE', direction: 'inbound' });
  });
});

describe('traceIdOf', () => {
  it('takes the trace id of a W3C traceparent and nothing else', () => {
    expect(traceIdOf(TRACEPARENT)).toBe(TRACE_ID);
    expect(traceIdOf(undefined)).toBe('');
    expect(traceIdOf('garbage')).toBe('');
    expect(traceIdOf(`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`)).toBe('');
    expect(traceIdOf(`00-${TRACE_ID.toUpperCase()}-00f067aa0ba902b7-01`)).toBe('');
  });
});
