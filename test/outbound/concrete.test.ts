// Outbound: the concrete stage over real balancers and a scripted endpoint stage — picks, empty subsets, the connection limit, outlier ejection, a peer's APP_UNAVAILABLE, balancer feedback.
import { describe, expect, it } from 'vitest';
import { ConnectFailedError } from '../../src/core/index.js';
import { ConcreteStage } from '../../src/outbound/index.js';
import { createProxyMetrics } from '../../src/telemetry/index.js';
import type { Endpoint } from '../../src/model/index.js';
import { answer, compilePolicy, failWith, fakeEndpoint, FakeBody, hold, manualRuntime, meshRequest, RecordingHandler, ScriptedDispatch, seriesValue, type PolicyInput, type Step } from '../support/request-path-kit.js';

const A = fakeEndpoint('greeter-a', { host: '10.1.0.1' });
const B = fakeEndpoint('greeter-b', { host: '10.1.0.2' });
const C = fakeEndpoint('greeter-c', { host: '10.1.0.3' });

function harness(policy: PolicyInput | undefined, endpoints: readonly Endpoint[], steps: Step[]) {
  const runtime = manualRuntime();
  const metrics = createProxyMetrics(runtime.metrics);
  const inner = new ScriptedDispatch(steps);
  const options = { clock: runtime.clock, policyMetrics: metrics.policy('greeter'), endpoint: inner.dispatch, peerAppUnavailableFails: true };
  const upstream = compilePolicy(runtime, metrics, policy, (target, compiled) => new ConcreteStage(target, compiled, options).dispatch);
  upstream.update(endpoints);
  /** One attempt as the logical stage makes it: its number and the endpoints it avoids set first. */
  const send = (attempt: { number?: number; exclude?: readonly string[]; body?: FakeBody } = {}) => {
    const req = meshRequest({ clock: runtime.clock, body: attempt.body ?? null });
    req.attempt = attempt.number ?? 1;
    if (attempt.exclude !== undefined) req.exclude = new Set(attempt.exclude);
    const handler = new RecordingHandler();
    upstream.all.dispatch(req, handler);
    return { req, handler };
  };
  const picked = () => inner.calls.map((call) => call.endpoint?.id);
  const metric = (name: string, labels: Record<string, string>) => seriesValue(runtime.metrics, name, labels);
  return { runtime, clock: runtime.clock, inner, upstream, send, picked, metric };
}

const ok = (n: number): Step[] => Array.from({ length: n }, () => answer(200));

describe('concrete stage: picks', () => {
  it('avoids the endpoints the request excludes, and writes the attempt into the request and its facts', () => {
    const { send, picked, inner } = harness(undefined, [A, B, C], ok(5));
    const first = send({ number: 3, exclude: ['greeter-a', 'greeter-b'] });
    expect(first.req.endpoint?.id).toBe('greeter-c');
    expect(first.req.facts.endpoint?.id).toBe('greeter-c');
    expect(first.req.facts.attempts).toBe(3);
    for (let i = 0; i < 4; i++) send({ number: 2, exclude: ['greeter-a'] });
    expect(picked()).toEqual(['greeter-c', 'greeter-b', 'greeter-c', 'greeter-b', 'greeter-c']);
    expect(inner.calls.map((call) => call.attempt)).toEqual([3, 2, 2, 2, 2]);
    expect(first.handler.trace).toEqual(['start 200', 'end']);
  });

  it('answers NO_ENDPOINTS when the service has none: nothing is sent and no attempt is counted', () => {
    const { send, inner } = harness(undefined, [], ok(1));
    const { req, handler } = send();
    expect(handler.trace).toEqual(['error NO_ENDPOINTS']);
    expect(inner.calls).toHaveLength(0);
    expect(req.facts.attempts).toBe(0);
    expect(req.facts.endpoint).toBeNull();
  });

  it("answers NO_ENDPOINTS for a route's subset that selects no endpoint", () => {
    const policy = { routes: [{ backends: [{ subset: { version: 'v9' } }] }] };
    const { upstream, runtime, inner } = harness(policy, [fakeEndpoint('greeter-a', { meta: { version: 'v1' } })], ok(1));
    const target = upstream.routes!.match('/', {})!.split.choose(runtime.rng)!.target;
    const req = meshRequest({ clock: runtime.clock });
    req.attempt = 1;
    const handler = new RecordingHandler();
    target.dispatch(req, handler);
    expect(handler.trace).toEqual(['error NO_ENDPOINTS']);
    expect(inner.calls).toHaveLength(0);
    expect(req.facts.attempts).toBe(0);
  });
});

describe('concrete stage: the connection limit', () => {
  it('refuses an attempt over maxConnections with OVERFLOW, and gives the slot back when the attempt ends', async () => {
    const { send, inner, upstream, metric } = harness({ circuitBreaker: { maxConnections: 1 } }, [A, B], [hold, answer(200)]);
    const first = send();
    expect(upstream.limits.inUse('connections')).toBe(1);
    const over = send();
    expect(over.handler.trace).toEqual(['error OVERFLOW']);
    expect(over.req.facts.attempts).toBe(0);
    expect(inner.calls).toHaveLength(1);
    expect(await metric('weft_proxy_circuit_rejections_total', { service: 'greeter', code: 'OVERFLOW' })).toBe(1);
    inner.call(0).answer({ status: 200 });
    expect(first.handler.trace).toEqual(['start 200', 'end']);
    expect(upstream.limits.inUse('connections')).toBe(0);
    expect(send().handler.trace).toEqual(['start 200', 'end']);
    expect(upstream.limits.inUse('connections')).toBe(0);
  });

  it('gives the slot back when a stage above drops the response, and when the client leaves', () => {
    const { send, inner, upstream } = harness({ circuitBreaker: { maxConnections: 1 } }, [A], [hold, hold]);
    const dropped = send();
    inner.call(0).start(503);
    dropped.handler.flow!.drop();
    expect(inner.call(0).flow.drops).toBe(1);
    expect(upstream.limits.inUse('connections')).toBe(0);
    const left = send();
    expect(upstream.limits.inUse('connections')).toBe(1);
    left.req.cancel();
    expect(left.handler.trace).toEqual(['error CANCELLED']);
    expect(upstream.limits.inUse('connections')).toBe(0);
  });
});

describe('concrete stage: outlier ejection', () => {
  it('ejects an endpoint after N consecutive 5xx or failures, and takes it back after the ejection time', async () => {
    const policy = { outlierDetection: { consecutive5xx: 2, consecutiveGatewayErrors: 0, baseEjectionMs: 1_000 } };
    const { send, picked, clock, metric } = harness(policy, [A, B], [failWith(new ConnectFailedError(A.address)), answer(200), answer(500), ...ok(10)]);
    expect(send().handler.trace).toEqual(['error CONNECT_FAILED']);
    send();
    expect(send().handler.trace).toEqual(['start 500', 'end']);
    expect(picked()).toEqual(['greeter-a', 'greeter-b', 'greeter-a']);
    expect(await metric('weft_proxy_outlier_ejections_total', { service: 'greeter' })).toBe(1);
    expect(await metric('weft_proxy_endpoints_ejected', { service: 'greeter' })).toBe(1);
    for (let i = 0; i < 4; i++) send();
    expect(picked().slice(3)).toEqual(['greeter-b', 'greeter-b', 'greeter-b', 'greeter-b']);
    clock.advance(999);
    send();
    expect(picked()[7]).toBe('greeter-b');
    clock.advance(1);
    // Ejections end lazily (no timer): the attempt that sees the time is up brings the endpoint back for the next picks.
    send();
    send();
    expect(picked().slice(8)).toContain('greeter-a');
    expect(await metric('weft_proxy_endpoints_ejected', { service: 'greeter' })).toBe(0);
  });

  it('a 5xx between successes does not eject', () => {
    const policy = { outlierDetection: { consecutive5xx: 2, consecutiveGatewayErrors: 0, baseEjectionMs: 1_000 } };
    const { send, picked } = harness(policy, [A, B], [answer(500), answer(200), answer(200), answer(200), answer(500), answer(200), answer(200), answer(200)]);
    for (let i = 0; i < 8; i++) send();
    expect(picked()).toEqual(['greeter-a', 'greeter-b', 'greeter-a', 'greeter-b', 'greeter-a', 'greeter-b', 'greeter-a', 'greeter-b']);
  });
});

describe("concrete stage: a peer sidecar's APP_UNAVAILABLE", () => {
  const appDown = answer(503, { headers: ['content-type', 'application/json', 'x-weft-error', 'APP_UNAVAILABLE'], body: ['{"code":"APP_UNAVAILABLE"}'] });

  it('is a failed attempt: the response is dropped and APP_UNAVAILABLE goes up', () => {
    const { send, inner, upstream } = harness(undefined, [A, B], [appDown]);
    const { handler } = send();
    expect(handler.trace).toEqual(['error APP_UNAVAILABLE']);
    expect(handler.lastError?.details['target']).toBe(A.address);
    expect(inner.call(0).flow.drops).toBe(1);
    expect(upstream.limits.inUse('connections')).toBe(0);
  });

  it('is passed on as the response when the body was spent and cannot be sent again', () => {
    const body = new FakeBody();
    body.current = 'spent';
    const { send, inner } = harness(undefined, [A, B], [appDown]);
    const { handler } = send({ body });
    expect(handler.trace).toEqual(['start 503', 'data', 'end']);
    expect(inner.call(0).flow.drops).toBe(0);
  });

  it('a plain 503 from an app is a response', () => {
    const { send } = harness(undefined, [A, B], [answer(503)]);
    expect(send().handler.trace).toEqual(['start 503', 'end']);
  });
});

describe('concrete stage: backpressure', () => {
  it("passes the consumer's pause down and its resume to the producer", () => {
    const { send, inner } = harness(undefined, [A], [hold]);
    const { handler } = send();
    const call = inner.call(0);
    call.start(200);
    handler.accepting = false;
    expect(call.handler.onData(Buffer.from('chunk'))).toBe(false);
    handler.flow!.resume();
    expect(call.flow.resumes).toBe(1);
    handler.accepting = true;
    expect(call.handler.onData(Buffer.from('more'))).toBe(true);
    call.end();
    expect(handler.trace).toEqual(['start 200', 'data', 'data', 'end']);
  });
});

describe('concrete stage: balancer feedback', () => {
  it('least-connections does not pick an endpoint with an attempt in flight while another is idle', () => {
    const { send, picked, inner } = harness({ loadBalancer: { algorithm: 'least-connections' } }, [A, B], [hold, ...ok(5)]);
    send();
    // Each of these ends before the next starts: done() gives greeter-b's slot back every time.
    for (let i = 0; i < 3; i++) expect(send().handler.trace).toEqual(['start 200', 'end']);
    expect(picked()).toEqual(['greeter-a', 'greeter-b', 'greeter-b', 'greeter-b']);
    inner.call(0).answer({ status: 200 });
    send();
    send();
    expect(new Set(picked().slice(4))).toEqual(new Set(['greeter-a', 'greeter-b']));
  });

  it('an attempt refused with OVERFLOW takes no pick, so the balancer counts nothing against the endpoint', () => {
    const { send, picked, inner } = harness({ loadBalancer: { algorithm: 'least-connections' }, circuitBreaker: { maxConnections: 1 } }, [A, B], [hold, ...ok(4)]);
    send();
    expect(send().handler.trace).toEqual(['error OVERFLOW']);
    inner.call(0).answer({ status: 200 });
    // Both idle again: ties go round the endpoints (a pick left counted would send all four to one of them).
    for (let i = 0; i < 4; i++) send();
    const later = picked().slice(1);
    expect(later.filter((id) => id === 'greeter-a')).toHaveLength(2);
    expect(later.filter((id) => id === 'greeter-b')).toHaveLength(2);
  });
});
