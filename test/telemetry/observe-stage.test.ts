// Telemetry: the observe stage over a scripted stack — each request recorded exactly once (status, error count, in-flight, access-log line), however it ends.
import { describe, expect, it } from 'vitest';
import { ForbiddenError, UpstreamResetError } from '../../src/core/index.js';
import { createAccessLog, createProxyMetrics, ObserveStage, type AccessRecord, type HopSink } from '../../src/telemetry/index.js';
import { answer, failWith, fakeEndpoint, hold, manualRuntime, meshRequest, RecordingHandler, ScriptedDispatch, seriesOf, seriesValue, type Step } from '../support/request-path-kit.js';

const ENDPOINT = fakeEndpoint('greeter-b', { host: '10.1.0.2', port: 9090 });
const PEER = { direction: 'outbound', source: 'web', destination: 'greeter' } as const;

function observed(steps: Step[]) {
  const runtime = manualRuntime();
  const metrics = createProxyMetrics(runtime.metrics);
  const lines: string[] = [];
  const accessLog = createAccessLog({ sample: 1, rng: runtime.rng, clock: runtime.clock, destination: { write: (line: string) => void lines.push(line) } })!;
  const inner = new ScriptedDispatch(steps, { endpoints: [ENDPOINT] });
  const sink: HopSink = { metrics: metrics.upstream('outbound', 'web', 'greeter'), spans: null, istioEnabled: false, istio: () => null };
  let asked = 0;
  const stage = new ObserveStage(inner.dispatch, {
    direction: 'outbound',
    clock: runtime.clock,
    inFlight: metrics.inFlight('outbound'),
    accessLog,
    sinkOf: () => {
      asked++;
      return sink;
    },
  });
  const send = (path = '/hello') => {
    const req = meshRequest({ clock: runtime.clock, path, headers: { Host: 'greeter:8080' } });
    req.attempt = 1;
    req.facts.source = 'web';
    req.facts.destination = 'greeter';
    const handler = new RecordingHandler();
    stage.dispatch(req, handler);
    return { req, handler };
  };
  const records = (): AccessRecord[] => lines.map((line) => JSON.parse(line) as AccessRecord);
  const requests = async () => (await seriesOf(runtime.metrics, 'weft_proxy_requests_total')).map((s) => `${s.labels['code']} ${s.labels['classification']} ${s.value}`);
  const errors = (code: string) => seriesValue(runtime.metrics, 'weft_proxy_errors_total', { ...PEER, code });
  const inFlight = () => seriesValue(runtime.metrics, 'weft_proxy_in_flight', { direction: 'outbound' });
  return { runtime, clock: runtime.clock, inner, send, records, requests, errors, inFlight, sinkAsked: () => asked };
}

describe('observe stage', () => {
  it('records a response once, by the status it ended with, and logs it with the facts the stages left', async () => {
    const o = observed([hold]);
    const { req, handler } = o.send();
    expect(await o.inFlight()).toBe(1);
    o.clock.advance(40);
    o.inner.call(0).answer({ status: 201, body: ['made'] });
    expect(handler.trace).toEqual(['start 201', 'data', 'end']);
    expect(await o.requests()).toEqual(['201 success 1']);
    expect(await o.inFlight()).toBe(0);
    expect(o.sinkAsked()).toBe(1);
    expect(req.facts.attempts).toBe(1);
    expect(o.records()).toHaveLength(1);
    expect(o.records()[0]).toMatchObject({
      log: 'access',
      direction: 'outbound',
      method: 'GET',
      authority: 'greeter:8080',
      path: '/hello',
      status: 201,
      duration_ms: 40,
      upstream: '10.1.0.2:9090',
      upstream_instance: 'greeter-b',
      attempts: 1,
      retries: 0,
      response_flags: '',
      source: 'web',
      destination: 'greeter',
    });
  });

  it('an error before the response is recorded with its status and counted by its code', async () => {
    const o = observed([failWith(new ForbiddenError('greeter'))]);
    const { handler } = o.send();
    expect(handler.trace).toEqual(['error FORBIDDEN']);
    expect(await o.requests()).toEqual(['403 success 1']);
    expect(await o.errors('FORBIDDEN')).toBe(1);
    expect(await o.inFlight()).toBe(0);
    expect(o.records()).toMatchObject([{ status: 403, response_flags: 'FORBIDDEN', attempts: 1 }]);
  });

  it('an error after the response started is recorded with the status sent and the error code', async () => {
    const o = observed([answer(200, { body: ['half'], breakWith: new UpstreamResetError('10.1.0.2:9090') })]);
    const { handler } = o.send();
    expect(handler.trace).toEqual(['start 200', 'data', 'error UPSTREAM_RESET']);
    expect(await o.requests()).toEqual(['200 success 1']);
    expect(await o.errors('UPSTREAM_RESET')).toBe(1);
    expect(await o.inFlight()).toBe(0);
    expect(o.records()).toMatchObject([{ status: 200, response_flags: 'UPSTREAM_RESET' }]);
  });

  it('a client that left is recorded as 499 and is no error', async () => {
    const o = observed([hold]);
    const { req, handler } = o.send();
    req.cancel();
    expect(handler.trace).toEqual(['error CANCELLED']);
    expect(await o.requests()).toEqual(['499 failure 1']);
    expect(await o.errors('CANCELLED')).toBe(0);
    expect(await seriesOf(o.runtime.metrics, 'weft_proxy_errors_total')).toEqual([]);
    expect(await o.inFlight()).toBe(0);
    expect(o.records()).toMatchObject([{ status: 499, response_flags: '' }]);
  });

  it('a request refused at the edge is observed like the rest', async () => {
    const runtime = manualRuntime();
    const metrics = createProxyMetrics(runtime.metrics);
    const sink: HopSink = { metrics: metrics.upstream('outbound', 'web', 'greeter'), spans: null, istioEnabled: false, istio: () => null };
    const inner = new ScriptedDispatch([]);
    const stage = new ObserveStage(inner.dispatch, { direction: 'outbound', clock: runtime.clock, inFlight: metrics.inFlight('outbound'), accessLog: null, sinkOf: () => sink });
    const handler = new RecordingHandler();
    stage.refuse(meshRequest({ clock: runtime.clock }), handler, new ForbiddenError('greeter'));
    expect(handler.trace).toEqual(['error FORBIDDEN']);
    expect(inner.calls).toHaveLength(0);
    expect(await seriesValue(runtime.metrics, 'weft_proxy_requests_total', { ...PEER, code: '403', classification: 'success' })).toBe(1);
    expect(await seriesValue(runtime.metrics, 'weft_proxy_in_flight', { direction: 'outbound' })).toBe(0);
  });

  it('keeps the in-flight count while requests run, whatever ends them', async () => {
    const o = observed([hold, hold, hold]);
    const sent = [o.send('/a'), o.send('/b'), o.send('/c')];
    expect(await o.inFlight()).toBe(3);
    o.inner.call(0).answer({ status: 200 });
    o.inner.call(1).fail(new UpstreamResetError('10.1.0.2:9090'));
    expect(await o.inFlight()).toBe(1);
    sent[2]!.req.cancel();
    expect(await o.inFlight()).toBe(0);
    expect(sent.map((s) => s.handler.finals)).toEqual([1, 1, 1]);
    expect(o.records().map((r) => `${r.path} ${r.status}`)).toEqual(['/a 200', '/b 502', '/c 499']);
  });
});
