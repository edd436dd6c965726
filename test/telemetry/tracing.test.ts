// Telemetry: one span per hop through a real outbound and inbound sidecar listener, exported over OTLP/HTTP to a real receiver.
import type { IncomingHttpHeaders } from 'node:http';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRng, systemClock } from '../../src/core/index.js';
import { createInboundServer } from '../../src/proxy/inbound-server.js';
import { createOutboundServer } from '../../src/proxy/outbound-server.js';
import { createAccessLog, type AccessRecord } from '../../src/telemetry/index.js';
import { createTracing, type Tracing } from '../../src/telemetry/tracing/index.js';
import { OTLP_SPAN_KIND, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/index.js';
import { closedPort, instance, quietRuntime, send, snapshotsOf, startServer, until, type TestServer } from '../proxy/request-path-fixtures.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** An application that keeps the headers of every request it got and answers the status named by its path (/status/500). */
async function recordingApp(): Promise<{ server: TestServer; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = await startServer((req, res) => {
    seen.push(req.headers);
    const status = /^\/status\/(\d{3})$/.exec(req.url ?? '')?.[1];
    res.writeHead(status === undefined ? 200 : Number(status), { 'content-type': 'text/plain' });
    res.end('ok');
  });
  cleanups.push(() => server.close());
  return { server, seen };
}

interface MeshOptions {
  /** The receiver's URL unless given (a closed port for a receiver that is down). */
  otlpUrl?: string;
  sample?: number;
  /** Tracing off on both sidecars. */
  off?: boolean;
  /** Extra endpoints of greeter before the inbound sidecar (e.g. a dead one). */
  deadEndpoint?: number;
  accessLog?: boolean;
}

interface TestMesh {
  receiver: OtlpReceiver;
  outboundPort: number;
  seen: IncomingHttpHeaders[];
  records: AccessRecord[];
  tracers: Tracing[];
  registries: Registry[];
  /** Flushes both sidecars' spans (bounded) so the receiver holds every span of the requests sent so far. */
  flush(): Promise<void>;
}

/** The test client plays app A: A's outbound listener (service web) → B's inbound listener (service greeter) → app B. */
async function mesh(options: MeshOptions = {}): Promise<TestMesh> {
  const receiver = await startOtlpReceiver();
  cleanups.push(() => receiver.close());
  const app = await recordingApp();
  const registries = [new Registry(), new Registry()];
  const tracers = options.off
    ? []
    : ['greeter', 'web'].map((service, i) =>
        createTracing({ otlpUrl: options.otlpUrl ?? receiver.url, sample: options.sample ?? 1, service, registry: registries[i]!, logger: pino({ level: 'silent' }), scheduledDelayMs: 50 }),
      );
  for (const tracing of tracers) cleanups.push(() => tracing.shutdown(1000));
  const inbound = createInboundServer({ runtime: quietRuntime(), appPort: app.server.port, service: 'greeter', tracing: tracers[0]?.hops ?? null });
  const { port: inboundPort } = await inbound.listen('127.0.0.1', 0);
  cleanups.push(() => inbound.close(0));
  const records: AccessRecord[] = [];
  const accessLog = options.accessLog ? createAccessLog({ rng: seededRng(1), clock: systemClock, forward: (r) => records.push(r) }) : null;
  const endpoints = [instance('greeter-1', inboundPort)];
  if (options.deadEndpoint !== undefined) endpoints.unshift(instance('greeter-dead', options.deadEndpoint));
  const outbound = createOutboundServer({ runtime: quietRuntime(), snapshots: snapshotsOf(endpoints), localService: 'web', tracing: tracers[1]?.hops ?? null, accessLog });
  const { port: outboundPort } = await outbound.listen('127.0.0.1', 0);
  cleanups.push(() => outbound.close(0));
  return {
    receiver,
    outboundPort,
    seen: app.seen,
    records,
    tracers,
    registries,
    flush: async () => {
      for (const tracing of tracers) await tracing.shutdown(5000);
    },
  };
}

function client(spans: ReceivedSpan[]): ReceivedSpan[] {
  return spans.filter((s) => s.kind === OTLP_SPAN_KIND.client);
}
function server(spans: ReceivedSpan[]): ReceivedSpan[] {
  return spans.filter((s) => s.kind === OTLP_SPAN_KIND.server);
}

function parseTraceparent(value: string | string[] | undefined): { traceId: string; parentId: string; flags: string } {
  const match = TRACEPARENT_RE.exec(String(value));
  if (match === null) throw new Error(`not a traceparent: ${String(value)}`);
  return { traceId: match[1]!, parentId: match[2]!, flags: match[3]! };
}

describe('tracing: one span per hop through two sidecars', () => {
  it('starts a trace at the outbound hop: CLIENT → SERVER → app, one trace id, parents chained', async () => {
    const m = await mesh({ accessLog: true });
    const reply = await send(m.outboundPort, { path: '/hello?name=x' });
    expect(reply.status).toBe(200);
    await until(() => m.receiver.spans.length >= 2);
    const [out] = client(m.receiver.spans);
    const [inb] = server(m.receiver.spans);
    expect(out).toBeDefined();
    expect(inb).toBeDefined();
    expect(m.receiver.spans).toHaveLength(2);
    expect(out!.parentSpanId).toBe('');
    expect(inb!.traceId).toBe(out!.traceId);
    expect(inb!.parentSpanId).toBe(out!.spanId);
    // The app sees the inbound span as its parent, sampled.
    expect(parseTraceparent(m.seen[0]!.traceparent)).toEqual({ traceId: out!.traceId, parentId: inb!.spanId, flags: '01' });

    expect(out).toMatchObject({ service: 'web', name: 'GET greeter', status: { code: 0 } });
    expect(out!.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.path': '/hello',
      'server.address': 'greeter',
      'http.response.status_code': 200,
      'weft.direction': 'outbound',
      'weft.source': 'web',
      'weft.destination': 'greeter',
      'weft.upstream.instance': 'greeter-1',
      'weft.attempts': 1,
      'weft.retries': 0,
      'network.peer.address': '127.0.0.1',
    });
    expect(out!.attributes['weft.response_flags']).toBeUndefined();
    expect(inb).toMatchObject({ service: 'greeter', name: 'GET greeter', status: { code: 0 } });
    expect(inb!.attributes).toMatchObject({ 'weft.direction': 'inbound', 'weft.source': 'web', 'weft.destination': 'greeter', 'http.response.status_code': 200, 'weft.attempts': 1 });
    // The access log names the trace the sidecar started, not the (absent) incoming one.
    await until(() => m.records.length === 1);
    expect(m.records[0]!.trace_id).toBe(out!.traceId);
  });

  it('continues the app\'s trace: the outbound span\'s parent is the incoming traceparent, tracestate passed along', async () => {
    const m = await mesh();
    const reply = await send(m.outboundPort, { headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, tracestate: 'vendor=abc,other=1' } });
    expect(reply.status).toBe(200);
    await until(() => m.receiver.spans.length >= 2);
    const [out] = client(m.receiver.spans);
    const [inb] = server(m.receiver.spans);
    expect(out).toMatchObject({ traceId: TRACE_ID, parentSpanId: PARENT_ID });
    expect(inb).toMatchObject({ traceId: TRACE_ID, parentSpanId: out!.spanId });
    expect(parseTraceparent(m.seen[0]!.traceparent)).toEqual({ traceId: TRACE_ID, parentId: inb!.spanId, flags: '01' });
    expect(m.seen[0]!.tracestate).toBe('vendor=abc,other=1');
  });

  it.each([
    ['single b3', { b3: `${TRACE_ID}-${PARENT_ID}-1` }],
    ['multi X-B3-*', { 'X-B3-TraceId': TRACE_ID, 'X-B3-SpanId': PARENT_ID, 'X-B3-Sampled': '1', 'X-B3-ParentSpanId': '1111111111111111' }],
  ])('accepts %s headers, continues their trace and writes B3 in the same form for the app', async (form, headers) => {
    const m = await mesh();
    expect((await send(m.outboundPort, { headers })).status).toBe(200);
    await until(() => m.receiver.spans.length >= 2);
    const [out] = client(m.receiver.spans);
    const [inb] = server(m.receiver.spans);
    expect(out).toMatchObject({ traceId: TRACE_ID, parentSpanId: PARENT_ID });
    expect(inb).toMatchObject({ traceId: TRACE_ID, parentSpanId: out!.spanId });
    const got = m.seen[0]!;
    expect(parseTraceparent(got.traceparent)).toEqual({ traceId: TRACE_ID, parentId: inb!.spanId, flags: '01' });
    if (form === 'single b3') {
      expect(got.b3).toBe(`${TRACE_ID}-${inb!.spanId}-1`);
      expect(got['x-b3-traceid']).toBeUndefined();
    } else {
      expect(got).toMatchObject({ 'x-b3-traceid': TRACE_ID, 'x-b3-spanid': inb!.spanId, 'x-b3-sampled': '1' });
      // The caller's parent is not this hop's parent: it is dropped rather than passed on stale.
      expect(got['x-b3-parentspanid']).toBeUndefined();
      expect(got.b3).toBeUndefined();
    }
  });

  it('writes no B3 for a W3C-only caller', async () => {
    const m = await mesh();
    await send(m.outboundPort, { headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` } });
    expect(m.seen[0]!.b3).toBeUndefined();
    expect(m.seen[0]!['x-b3-traceid']).toBeUndefined();
  });

  it('keeps retries within the one CLIENT span, as attempts and retry events', async () => {
    const m = await mesh({ deadEndpoint: await closedPort() });
    for (let i = 0; i < 4; i++) expect((await send(m.outboundPort)).status).toBe(200);
    await m.flush();
    const outs = client(m.receiver.spans);
    expect(outs).toHaveLength(4);
    const retried = outs.filter((s) => s.attributes['weft.attempts'] === 2);
    // Round-robin sends some first attempts to the dead endpoint.
    expect(retried.length).toBeGreaterThan(0);
    for (const span of retried) {
      expect(span.attributes).toMatchObject({ 'weft.retries': 1, 'weft.upstream.instance': 'greeter-1', 'http.response.status_code': 200 });
      expect(span.events).toEqual([{ name: 'retry', attributes: expect.objectContaining({ 'weft.attempt': 1, 'weft.retry.reason': 'connect_failed', 'weft.upstream.instance': 'greeter-dead' }) }]);
      expect(span.status.code).toBe(0);
    }
    // Every SERVER span hangs under the CLIENT span of its request.
    const ids = new Set(outs.map((s) => s.spanId));
    expect(server(m.receiver.spans).every((s) => ids.has(s.parentSpanId))).toBe(true);
  });

  it('marks 5xx and synthetic replies as errors, with the weft error code as response flags', async () => {
    const m = await mesh({ accessLog: true });
    expect((await send(m.outboundPort, { path: '/status/500' })).status).toBe(500);
    expect((await send(m.outboundPort, { host: 'nosuch' })).status).toBe(503);
    await m.flush();
    const outs = client(m.receiver.spans);
    const failed = outs.find((s) => s.attributes['url.path'] === '/status/500')!;
    expect(failed.status.code).toBe(2);
    expect(failed.attributes).toMatchObject({ 'http.response.status_code': 500, 'error.type': '500' });
    const unknown = outs.find((s) => s.attributes['weft.response_flags'] !== undefined)!;
    expect(unknown).toMatchObject({ name: 'GET _unknown', status: { code: 2, message: 'NO_ENDPOINTS' } });
    expect(unknown.attributes).toMatchObject({ 'http.response.status_code': 503, 'weft.response_flags': 'NO_ENDPOINTS', 'weft.attempts': 0 });
    // The access log of a rejected request names the trace of its span too.
    await until(() => m.records.length === 2);
    expect(m.records.find((r) => r.response_flags === 'NO_ENDPOINTS')!.trace_id).toBe(unknown.traceId);
  });
});

describe('tracing: sampling', () => {
  it('at ratio 0 exports nothing but still forwards a traceparent with the sampled flag 00', async () => {
    const m = await mesh({ sample: 0 });
    expect((await send(m.outboundPort)).status).toBe(200);
    await m.flush();
    expect(m.receiver.spans).toEqual([]);
    const got = parseTraceparent(m.seen[0]!.traceparent);
    expect(got.flags).toBe('00');
    expect(got.traceId).not.toBe('0'.repeat(32));
  });

  it('honours a sampled parent at ratio 0, and an unsampled one at ratio 1', async () => {
    const none = await mesh({ sample: 0 });
    await send(none.outboundPort, { headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` } });
    await none.flush();
    expect(none.receiver.spans.map((s) => s.traceId)).toEqual([TRACE_ID, TRACE_ID]);
    expect(parseTraceparent(none.seen[0]!.traceparent).flags).toBe('01');

    const all = await mesh({ sample: 1 });
    await send(all.outboundPort, { headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` } });
    await all.flush();
    expect(all.receiver.spans).toEqual([]);
    expect(parseTraceparent(all.seen[0]!.traceparent)).toMatchObject({ traceId: TRACE_ID, flags: '00' });
  });
});

describe('tracing: failures and the off switch', () => {
  it('leaves requests unaffected when the receiver is down, and counts the spans lost', async () => {
    const m = await mesh({ otlpUrl: `http://127.0.0.1:${await closedPort()}/v1/traces` });
    for (let i = 0; i < 10; i++) expect((await send(m.outboundPort)).status).toBe(200);
    const failed = async () => {
      let sum = 0;
      for (const registry of m.registries) sum += (await registry.getSingleMetric('weft_trace_spans_failed_total')!.get()).values[0]?.value ?? 0;
      return sum;
    };
    // The exporter retries a refused connection with backoff for up to its 5 s timeout before giving a batch up.
    let lost = 0;
    for (let i = 0; i < 100 && lost < 20; i++) {
      lost = await failed();
      if (lost < 20) await new Promise((r) => setTimeout(r, 200));
    }
    expect(lost).toBe(20);
    expect((await send(m.outboundPort)).status).toBe(200);
  }, 30_000);

  it('when off, exports nothing and passes trace headers on as they came', async () => {
    const m = await mesh({ off: true });
    const headers = { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, tracestate: 'a=1', b3: `${TRACE_ID}-${PARENT_ID}-1` };
    await send(m.outboundPort, { headers });
    expect(m.seen[0]).toMatchObject(headers);
    expect(m.receiver.requests).toBe(0);
  });
});
