// Outbound: trailers (gRPC's status travels there) pass through observe → logical → concrete unchanged, from the attempt that answered.
import { describe, expect, it } from 'vitest';
import { ConcreteStage, LogicalStage } from '../../src/outbound/index.js';
import { createProxyMetrics, ObserveStage, type HopSink } from '../../src/telemetry/index.js';
import { answer, compilePolicy, fakeEndpoint, manualRuntime, meshRequest, RecordingHandler, ScriptedDispatch, seriesValue, type Step } from '../support/request-path-kit.js';

/** The outbound stages of "greeter" as the stack composes them, over a scripted endpoint stage. */
function stages(steps: Step[]) {
  const runtime = manualRuntime();
  const metrics = createProxyMetrics(runtime.metrics);
  const policyMetrics = metrics.policy('greeter');
  const upstreamMetrics = metrics.upstream('outbound', 'web', 'greeter');
  const inner = new ScriptedDispatch(steps);
  const concrete = { clock: runtime.clock, policyMetrics, endpoint: inner.dispatch, peerAppUnavailableFails: true };
  const policy = compilePolicy(runtime, metrics, { retry: { on: ['503'], backoff: { baseMs: 1, maxMs: 1 } } }, (target, compiled) => new ConcreteStage(target, compiled, concrete).dispatch);
  policy.update([fakeEndpoint('greeter-a'), fakeEndpoint('greeter-b')]);
  const logical = new LogicalStage({ runtime, service: 'greeter', localService: 'web', metrics: upstreamMetrics, policyMetrics, policy: () => policy });
  const sink: HopSink = { metrics: upstreamMetrics, spans: null, istioEnabled: false, istio: () => null };
  const observe = new ObserveStage(logical.dispatch, { direction: 'outbound', clock: runtime.clock, inFlight: metrics.inFlight('outbound'), accessLog: null, sinkOf: () => sink });
  const send = () => {
    const handler = new RecordingHandler();
    observe.dispatch(meshRequest({ clock: runtime.clock }), handler);
    return handler;
  };
  return { runtime, inner, send };
}

const requests = (code: string) => ({ direction: 'outbound', source: 'web', destination: 'greeter', code, classification: 'success' });

describe('trailers through the outbound stages', () => {
  it('reach the client as the endpoint gave them, after the body', async () => {
    const trailers = ['grpc-status', '0', 'grpc-message', 'all good', 'X-Checksum', 'abc'];
    const { send, runtime } = stages([answer(200, { headers: ['content-type', 'application/grpc'], body: ['frame-1', 'frame-2'], trailers })]);
    const handler = send();
    expect(handler.trace).toEqual(['start 200', 'data', 'data', 'end']);
    expect(handler.events.at(-1)).toEqual({ kind: 'end', trailers: ['grpc-status', '0', 'grpc-message', 'all good', 'X-Checksum', 'abc'] });
    expect(await seriesValue(runtime.metrics, 'weft_proxy_requests_total', requests('200'))).toBe(1);
  });

  it('come from the attempt that answered: those of a retried response never reach the client', () => {
    const { send, inner } = stages([answer(503, { trailers: ['grpc-status', '14'] }), answer(200, { body: ['ok'], trailers: ['grpc-status', '0'] })]);
    const handler = send();
    expect(inner.calls).toHaveLength(2);
    expect(handler.events.filter((event) => event.kind === 'end')).toEqual([{ kind: 'end', trailers: ['grpc-status', '0'] }]);
  });

  it('stay null when the endpoint sent none', () => {
    const { send } = stages([answer(200, { body: ['plain'] })]);
    expect(send().events.at(-1)).toEqual({ kind: 'end', trailers: null });
  });
});
