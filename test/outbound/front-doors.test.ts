// Outbound: one stage stack serves two front doors — a node:http server through Http1ServerExchange, and an in-process call — with the same retry and the same metrics.
import type { IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Http1ServerExchange, type ServerEdge } from '../../src/transport/index.js';
import { OutboundStack } from '../../src/outbound/index.js';
import { parsePolicy, snapshotFromInstances } from '../../src/model/index.js';
import { createProxyMetrics } from '../../src/telemetry/index.js';
import { instance, send, startServer, type TestServer } from '../proxy/request-path-fixtures.js';
import { headerValues, manualRuntime, meshRequest, RecordingHandler, SIDECAR_DEFAULTS, seriesOf, seriesValue } from '../support/request-path-kit.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Upstream {
  readonly server: TestServer;
  readonly seen: IncomingHttpHeaders[];
}

/** An endpoint on 127.0.0.1 that answers every request with `status` and its name. */
async function upstream(name: string, status: number): Promise<Upstream> {
  const seen: IncomingHttpHeaders[] = [];
  const server = await startServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.writeHead(status, { 'content-type': 'text/plain', 'x-upstream': name }).end(name);
  });
  cleanups.push(() => server.close());
  return { server, seen };
}

describe('one outbound stack, two front doors', () => {
  it('retries the same way and records the same series whether a request came over HTTP/1.1 or in-process', async () => {
    // Retries go at once (a backoff under 1 ms), so the ManualClock never needs to move.
    const runtime = manualRuntime();
    const metrics = createProxyMetrics(runtime.metrics);
    const stack = new OutboundStack({
      runtime,
      service: 'greeter',
      defaults: SIDECAR_DEFAULTS,
      connectTimeoutMs: 1_000,
      peerAppUnavailableFails: true,
      metrics: metrics.upstream('outbound', 'web', 'greeter'),
      policyMetrics: metrics.policy('greeter'),
      inFlight: metrics.inFlight('outbound'),
      accessLog: null,
      spans: null,
      localService: 'web',
      istio: null,
    });
    cleanups.push(() => stack.destroy());
    const bad = await upstream('bad', 503);
    const good = await upstream('good', 200);
    // Round-robin starts on the first id: every request meets the 503 first, then goes to the other endpoint.
    const policy = parsePolicy({ service: 'greeter', retry: { on: ['503'], backoff: { baseMs: 1, maxMs: 1 } } });
    stack.refresh(snapshotFromInstances(1, [instance('greeter-a-bad', bad.server.port), instance('greeter-b-good', good.server.port)], new Map([['greeter', policy]])));

    const retries = () => seriesValue(runtime.metrics, 'weft_proxy_retries_total', { service: 'greeter', reason: 'status_503' });
    const requestSeries = async () => (await seriesOf(runtime.metrics, 'weft_proxy_requests_total')).map((s) => ({ ...s.labels, value: s.value }));
    const inFlight = () => seriesValue(runtime.metrics, 'weft_proxy_in_flight', { direction: 'outbound' });

    // (a) A node:http server whose requests enter the stack through the HTTP/1.1 server adapter.
    const edge: ServerEdge = { draining: false, begin: () => {}, end: () => {} };
    const front = await startServer((req, res) => {
      const exchange = new Http1ServerExchange(req, res, edge, req.headers.host ?? '', 64 * 1024, runtime.clock.now());
      exchange.request.facts.source = 'web';
      exchange.request.facts.destination = 'greeter';
      stack.dispatch(exchange.request, exchange);
    });
    cleanups.push(() => front.close());
    const overHttp = await send(front.port, { path: '/hello' });
    expect(overHttp.status).toBe(200);
    expect(overHttp.body).toBe('good');
    expect(overHttp.headers['x-upstream']).toBe('good');
    expect(await retries()).toBe(1);
    const afterHttp = await requestSeries();
    expect(afterHttp).toEqual([{ direction: 'outbound', source: 'web', destination: 'greeter', code: '200', classification: 'success', value: 1 }]);

    // (b) An in-process caller: a MeshRequest of its own and a handler, straight into the same dispatch.
    const req = meshRequest({ clock: runtime.clock, path: '/hello', headers: { host: 'greeter' } });
    req.facts.source = 'web';
    req.facts.destination = 'greeter';
    const handler = new RecordingHandler();
    stack.dispatch(req, handler);
    await handler.done;
    expect(handler.trace).toEqual(['start 200', 'data', 'end']);
    expect(handler.body).toBe('good');
    expect(headerValues((handler.events[0] as { headers: string[] }).headers, 'x-upstream')).toEqual(['good']);
    expect(req.facts.attempts).toBe(2);
    expect(req.facts.endpoint?.id).toBe('greeter-b-good');

    // The same retry and the same single series, counted once more.
    expect(await retries()).toBe(2);
    expect(await requestSeries()).toEqual(afterHttp.map((series) => ({ ...series, value: 2 })));
    expect(await inFlight()).toBe(0);
    expect(bad.seen).toHaveLength(2);
    expect(good.seen).toHaveLength(2);
    for (const headers of good.seen) {
      expect(headers['x-weft-retry-attempt']).toBe('1');
      expect(headers['x-weft-source']).toBe('web');
    }
    for (const headers of bad.seen) expect(headers['x-weft-retry-attempt']).toBeUndefined();
  });
});
