// Outbound: the logical stage over a scripted concrete stage and a ManualClock — retries, budget, backoff, deadlines, split, faults, the breaker, and one answer per request.
import { describe, expect, it } from 'vitest';
import { ConnectFailedError, ManualClock, UpstreamResetError, UpstreamTimeoutError, type Clock, type Rng } from '../../src/core/index.js';
import { statusOf } from '../../src/http/index.js';
import { LogicalStage } from '../../src/outbound/index.js';
import { createProxyMetrics } from '../../src/telemetry/index.js';
import {
  answer,
  compilePolicy,
  cyclingRng,
  failWith,
  fakeEndpoint,
  headerValues,
  hold,
  manualRuntime,
  meshRequest,
  RecordingHandler,
  ScriptedDispatch,
  seriesValue,
  subsetLabel,
  type MeshRequestOptions,
  type PolicyInput,
  type Step,
} from '../support/request-path-kit.js';

/** Retries go at once unless a test asks for a real pause: a backoff ceiling of 1 ms draws a pause under 1 ms. */
const NO_PAUSE = { baseMs: 1, maxMs: 1 };
const DEADLINE = 'x-weft-deadline-ms';
const RETRY = 'x-weft-retry-attempt';

function harness(policy: PolicyInput | undefined, steps: Step[], options: { rng?: Rng; clock?: Clock } = {}) {
  const manual = manualRuntime(options.rng === undefined ? {} : { rng: options.rng });
  const runtime = options.clock === undefined ? manual : { ...manual, clock: options.clock };
  const metrics = createProxyMetrics(runtime.metrics);
  const inner = new ScriptedDispatch(steps, { endpoints: ['greeter-a', 'greeter-b', 'greeter-c'].map((id) => fakeEndpoint(id)) });
  const upstream = compilePolicy(runtime, metrics, policy, (target) => inner.dispatchAs(subsetLabel(target)));
  const stage = new LogicalStage({
    runtime,
    service: 'greeter',
    localService: 'web',
    metrics: metrics.upstream('outbound', 'web', 'greeter'),
    policyMetrics: metrics.policy('greeter'),
    policy: () => upstream,
  });
  const send = (request: Partial<MeshRequestOptions> = {}) => {
    const req = meshRequest({ clock: runtime.clock, ...request });
    const handler = new RecordingHandler();
    stage.dispatch(req, handler);
    return { req, handler };
  };
  const metric = (name: string, labels: Record<string, string>) => seriesValue(runtime.metrics, name, labels);
  return { runtime, clock: manual.clock, inner, upstream, send, metric };
}

/** The client leaves (twice) while its request waits on a timer: one CANCELLED, the timer gone, nothing sent after. */
function leaveWhileWaiting({ send, inner, clock }: ReturnType<typeof harness>, sentBefore: number): void {
  const { req, handler } = send();
  expect(inner.calls).toHaveLength(sentBefore);
  expect(clock.pending()).toBe(1);
  req.cancel();
  req.cancel();
  expect(handler.trace).toEqual(['error CANCELLED']);
  expect(clock.pending()).toBe(0);
  clock.advance(1_000);
  expect(inner.calls).toHaveLength(sentBefore);
  expect(handler.finals).toBe(1);
}

const retries = (reason: string) => ['weft_proxy_retries_total', { service: 'greeter', reason }] as const;

describe('logical stage: retries', () => {
  it('sends a refused connection to the next endpoint, excluding the ones tried, with its retry number, up to the attempts', async () => {
    const { send, inner, metric } = harness({ retry: { attempts: 3, backoff: NO_PAUSE } }, [
      failWith(new ConnectFailedError('10.1.0.1:8080')),
      failWith(new ConnectFailedError('10.1.0.1:8080')),
      answer(200, { body: ['hello'] }),
    ]);
    const { req, handler } = send();
    expect(inner.calls.map((c) => c.endpoint?.id)).toEqual(['greeter-a', 'greeter-b', 'greeter-c']);
    expect(inner.calls.map((c) => c.exclude)).toEqual([[], ['greeter-a'], ['greeter-a', 'greeter-b']]);
    expect(inner.calls.map((c) => headerValues(c.headers, RETRY))).toEqual([[], ['1'], ['2']]);
    expect(inner.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(handler.trace).toEqual(['start 200', 'data', 'end']);
    expect(handler.body).toBe('hello');
    expect(req.facts.attempts).toBe(3);
    expect(await metric(...retries('connect_failed'))).toBe(2);
  });

  it('stops at the attempts: the last failure is the answer, once', async () => {
    const refused = () => failWith(new ConnectFailedError('10.1.0.1:8080'));
    const { send, inner, metric } = harness({ retry: { attempts: 2, backoff: NO_PAUSE } }, [refused(), refused(), answer(200)]);
    const { handler } = send();
    expect(inner.calls).toHaveLength(2);
    expect(handler.trace).toEqual(['error CONNECT_FAILED']);
    expect(await metric(...retries('connect_failed'))).toBe(1);
  });

  it('drops a retried 503 before its headers reach the client, who sees only the second response', async () => {
    const { send, inner, metric } = harness({ retry: { on: ['503'], backoff: NO_PAUSE } }, [
      answer(503, { headers: ['x-upstream', 'a'], body: ['unavailable'] }),
      answer(200, { headers: ['x-upstream', 'b'], body: ['good'] }),
    ]);
    const { handler } = send();
    expect(inner.call(0).flow.drops).toBe(1);
    expect(inner.call(1).flow.drops).toBe(0);
    expect(handler.events).toEqual([
      { kind: 'start', status: 200, headers: ['x-upstream', 'b'] },
      { kind: 'data', chunk: 'good' },
      { kind: 'end', trailers: null },
    ]);
    expect(await metric(...retries('status_503'))).toBe(1);
  });

  it('stops retrying when the budget is spent: the 503 goes to the client and the refusal is counted', async () => {
    // ratio 0 and a reserve of one retry per second: the first retry is allowed, the second is not.
    const { send, inner, metric } = harness({ retry: { on: ['503'], budget: { ratio: 0, minPerSecond: 1 }, backoff: NO_PAUSE } }, [answer(503), answer(200), answer(503, { body: ['busy'] })]);
    expect(send().handler.trace).toEqual(['start 200', 'end']);
    const second = send().handler;
    expect(second.trace).toEqual(['start 503', 'data', 'end']);
    expect(inner.calls).toHaveLength(3);
    expect(inner.call(2).flow.drops).toBe(0);
    expect(await metric('weft_proxy_retry_budget_exhausted_total', { service: 'greeter' })).toBe(1);
    expect(await metric(...retries('status_503'))).toBe(1);
  });

  it('waits out the backoff on the clock: nothing is sent again until it has passed', () => {
    // The Rng draws 0.5: the first retry waits half of baseMs.
    const { send, inner, clock } = harness({ retry: { on: ['503'], backoff: { baseMs: 100, maxMs: 1_000 } } }, [answer(503), answer(200)], { rng: cyclingRng([0.5]) });
    const { handler } = send();
    expect(inner.calls).toHaveLength(1);
    expect(clock.pending()).toBe(1);
    clock.advance(49);
    expect(inner.calls).toHaveLength(1);
    expect(handler.events).toEqual([]);
    clock.advance(1);
    expect(inner.calls).toHaveLength(2);
    expect(handler.trace).toEqual(['start 200', 'end']);
  });

  it('a client that leaves during the backoff is told CANCELLED once and nothing more is sent', () => {
    leaveWhileWaiting(harness({ retry: { on: ['503'], backoff: { baseMs: 100, maxMs: 1_000 } } }, [answer(503), answer(200)], { rng: cyclingRng([0.5]) }), 1);
  });

  it('does not retry once the response has started: a break after the headers goes up once', () => {
    const { send, inner } = harness({ retry: { on: ['connect-failure', 'reset', 'gateway-error'], backoff: NO_PAUSE } }, [
      answer(200, { body: ['part'], breakWith: new UpstreamResetError('10.1.0.1:8080') }),
      answer(200),
    ]);
    const { handler } = send();
    expect(inner.calls).toHaveLength(1);
    expect(handler.trace).toEqual(['start 200', 'data', 'error UPSTREAM_RESET']);
  });

  it('a retry on a reset of a POST is not made: the method may not be sent twice', () => {
    const { send, inner } = harness({ retry: { backoff: NO_PAUSE } }, [failWith(new UpstreamResetError('10.1.0.1:8080')), answer(200)]);
    const { handler } = send({ method: 'POST' });
    expect(inner.calls).toHaveLength(1);
    expect(handler.trace).toEqual(['error UPSTREAM_RESET']);
  });
});

describe('logical stage: deadlines', () => {
  it('reads the clock once for the deadline check and the header, so a deadline passing in between cannot throw', () => {
    // A clock that moves 0.01 ms at every reading, as performance.now() may between two calls.
    const base = new ManualClock(1_000);
    const ticking: Clock = {
      now: () => {
        base.advance(0.01);
        return base.now();
      },
      wallNow: () => base.wallNow(),
      setTimer: (callback, ms, arg) => base.setTimer(callback, ms, arg),
      clearTimer: (handle) => base.clearTimer(handle),
    };
    for (const sliver of ['0.015', '0.025', '0.035']) {
      const { send, inner } = harness(undefined, [answer(200)], { clock: ticking });
      const { handler } = send({ headers: { [DEADLINE]: sliver } });
      // Either time was left at the check (the attempt goes with a deadline of 1 ms) or it was not (504): never a throw.
      if (inner.calls.length === 1) expect(headerValues(inner.calls[0]!.req.headers, DEADLINE)).toEqual(['1']);
      else expect(handler.trace).toEqual(['error DEADLINE_EXCEEDED']);
    }
  });

  it("replaces a caller's x-weft-deadline-ms with the time left, smaller on each attempt", () => {
    const { send, inner, clock } = harness({ timeout: { requestMs: 2_000 }, retry: { backoff: NO_PAUSE } }, [hold, answer(200)]);
    const { handler } = send({ headers: { 'X-Weft-Deadline-Ms': '700' } });
    expect(headerValues(inner.call(0).headers, DEADLINE)).toEqual(['700']);
    clock.advance(300);
    inner.call(0).fail(new ConnectFailedError('10.1.0.1:8080'));
    expect(headerValues(inner.call(1).headers, DEADLINE)).toEqual(['400']);
    expect(headerValues(inner.call(1).headers, RETRY)).toEqual(['1']);
    expect(handler.trace).toEqual(['start 200', 'end']);
  });

  it("sends the policy's own timeout when it is sooner than the caller's", () => {
    const { send, inner } = harness({ timeout: { requestMs: 2_000 } }, [answer(200)]);
    send({ headers: { 'x-weft-deadline-ms': '5000' } });
    expect(headerValues(inner.call(0).headers, DEADLINE)).toEqual(['2000']);
  });

  it('fails with DEADLINE_EXCEEDED when the backoff would outlast the deadline, without sending again', () => {
    // The Rng draws 0.5: the pause would be 200 ms, the caller waits 150 ms in all.
    const { send, inner, clock } = harness({ retry: { backoff: { baseMs: 400, maxMs: 400 } } }, [failWith(new ConnectFailedError('10.1.0.1:8080')), answer(200)], { rng: cyclingRng([0.5]) });
    const { handler } = send({ headers: { 'x-weft-deadline-ms': '150' } });
    expect(handler.trace).toEqual(['error DEADLINE_EXCEEDED']);
    expect(inner.calls).toHaveLength(1);
    expect(clock.pending()).toBe(0);
  });

  it('after a backoff within the deadline, the retry carries what is left of it', () => {
    const { send, inner, clock } = harness({ retry: { backoff: { baseMs: 400, maxMs: 400 } } }, [failWith(new ConnectFailedError('10.1.0.1:8080')), answer(200)], { rng: cyclingRng([0.5]) });
    const { handler } = send({ headers: { 'x-weft-deadline-ms': '300' } });
    clock.advance(199);
    expect(inner.calls).toHaveLength(1);
    clock.advance(1);
    expect(headerValues(inner.call(1).headers, DEADLINE)).toEqual(['100']);
    expect(inner.call(1).attemptTimeoutMs).toBe(100);
    expect(handler.trace).toEqual(['start 200', 'end']);
  });

  it('bounds the per-try timeout by the time left; a timeout at the end of the request is its UPSTREAM_TIMEOUT', async () => {
    const { send, inner, clock, metric } = harness({ timeout: { requestMs: 500, perTryMs: 300 }, retry: { on: ['gateway-error'], backoff: NO_PAUSE } }, [hold, hold]);
    const { handler } = send();
    expect(inner.call(0).attemptTimeoutMs).toBe(300);
    clock.advance(300);
    inner.call(0).fail(new UpstreamTimeoutError('10.1.0.1:8080', 300));
    expect(inner.call(1).attemptTimeoutMs).toBe(200);
    clock.advance(200);
    inner.call(1).fail(new UpstreamTimeoutError('10.1.0.1:8080', 200));
    expect(inner.calls).toHaveLength(2);
    expect(handler.trace).toEqual(['error UPSTREAM_TIMEOUT']);
    expect(await metric(...retries('gateway_error'))).toBe(1);
  });

  it("a per-try timeout cut short by the caller's deadline is DEADLINE_EXCEEDED, not retried", () => {
    const { send, inner, clock } = harness({ timeout: { requestMs: 1_000, perTryMs: 300 }, retry: { on: ['gateway-error'], backoff: NO_PAUSE } }, [hold, answer(200)]);
    const { handler } = send({ headers: { 'x-weft-deadline-ms': '200' } });
    expect(inner.call(0).attemptTimeoutMs).toBe(200);
    clock.advance(200);
    inner.call(0).fail(new UpstreamTimeoutError('10.1.0.1:8080', 200));
    expect(inner.calls).toHaveLength(1);
    expect(handler.trace).toEqual(['error DEADLINE_EXCEEDED']);
  });

  it('a caller with no time left gets DEADLINE_EXCEEDED and nothing is sent', () => {
    const { send, inner } = harness(undefined, [answer(200)]);
    const { handler, req } = send({ headers: { 'x-weft-deadline-ms': '0' } });
    expect(handler.trace).toEqual(['error DEADLINE_EXCEEDED']);
    expect(inner.calls).toHaveLength(0);
    expect(req.facts.attempts).toBe(0);
  });
});

describe('logical stage: routes, splits and faults', () => {
  it('splits by weight among the subsets of a route', () => {
    const route = { backends: [{ subset: { version: 'v1' }, weight: 1 }, { subset: { version: 'v2' }, weight: 3 }] };
    // Draws × total weight 4 land at 0.4, 1.2, 2.4 and 3.6: v1 once, v2 three times, in each round of four.
    const steps = Array.from({ length: 8 }, () => answer(200));
    const { send, inner } = harness({ routes: [route] }, steps, { rng: cyclingRng([0.1, 0.3, 0.6, 0.9]) });
    for (let i = 0; i < 8; i++) expect(send().handler.trace).toEqual(['start 200', 'end']);
    expect(inner.labels()).toEqual(['version=v1', 'version=v2', 'version=v2', 'version=v2', 'version=v1', 'version=v2', 'version=v2', 'version=v2']);
  });

  it('a request no route matches goes to every endpoint', () => {
    const { send, inner } = harness({ routes: [{ match: { pathPrefix: '/v1/' }, backends: [{ subset: { version: 'v1' } }] }] }, [answer(200), answer(200)]);
    send({ path: '/v1/hello' });
    send({ path: '/other' });
    expect(inner.labels()).toEqual(['version=v1', 'all']);
  });

  it('a fault abort answers with its status and sends nothing', async () => {
    const { send, inner, metric } = harness({ routes: [{ backends: [{ weight: 1 }], fault: { abort: { percent: 100, status: 418 } } }] }, [answer(200)]);
    const { handler, req } = send();
    expect(handler.trace).toEqual(['error FAULT_INJECTED']);
    expect(statusOf(handler.lastError!)).toBe(418);
    expect(inner.calls).toHaveLength(0);
    expect(req.facts.attempts).toBe(0);
    expect(await metric('weft_proxy_faults_total', { service: 'greeter', kind: 'abort' })).toBe(1);
  });

  it('a fault delay holds the request on the clock, then sends it', async () => {
    const { send, inner, clock, metric } = harness({ routes: [{ backends: [{ weight: 1 }], fault: { delay: { percent: 100, ms: 200 } } }] }, [answer(200)]);
    const { handler, req } = send();
    expect(req.facts.faultDelayed).toBe(true);
    clock.advance(199);
    expect(inner.calls).toHaveLength(0);
    clock.advance(1);
    expect(inner.calls).toHaveLength(1);
    expect(handler.trace).toEqual(['start 200', 'end']);
    expect(await metric('weft_proxy_faults_total', { service: 'greeter', kind: 'delay' })).toBe(1);
  });

  it('a client that leaves during a fault delay is told CANCELLED once and nothing is sent', () => {
    leaveWhileWaiting(harness({ routes: [{ backends: [{ weight: 1 }], fault: { delay: { percent: 100, ms: 200 } } }] }, [answer(200)]), 0);
  });
});

describe('logical stage: the consecutive-failure breaker', () => {
  it('opens after N failed requests, lets one probe through after openMs, and closes on its success', async () => {
    const { send, inner, clock, metric } = harness({ circuitBreaker: { consecutiveFailures: 2, openMs: 1_000 } }, [answer(500), answer(500), hold, answer(200)]);
    const state = () => metric('weft_proxy_circuit_state', { service: 'greeter' });
    expect(send().handler.trace).toEqual(['start 500', 'end']);
    expect(await state()).toBe(0);
    expect(send().handler.trace).toEqual(['start 500', 'end']);
    expect(await state()).toBe(1);
    // Open: refused without a dispatch, until openMs has passed.
    expect(send().handler.trace).toEqual(['error CIRCUIT_OPEN']);
    clock.advance(999);
    expect(send().handler.trace).toEqual(['error CIRCUIT_OPEN']);
    expect(inner.calls).toHaveLength(2);
    expect(await metric('weft_proxy_circuit_rejections_total', { service: 'greeter', code: 'CIRCUIT_OPEN' })).toBe(2);
    clock.advance(1);
    // Half-open: one probe goes; another request meanwhile is refused.
    const probe = send();
    expect(inner.calls).toHaveLength(3);
    expect(await state()).toBe(2);
    expect(send().handler.trace).toEqual(['error CIRCUIT_OPEN']);
    inner.call(2).answer({ status: 200 });
    expect(probe.handler.trace).toEqual(['start 200', 'end']);
    expect(await state()).toBe(0);
    expect(send().handler.trace).toEqual(['start 200', 'end']);
    expect(inner.calls).toHaveLength(4);
  });

  it('a request the client left says nothing to the breaker', () => {
    const { send, inner } = harness({ circuitBreaker: { consecutiveFailures: 1, openMs: 1_000 } }, [hold, answer(200)]);
    const left = send();
    left.req.cancel();
    expect(left.handler.trace).toEqual(['error CANCELLED']);
    expect(send().handler.trace).toEqual(['start 200', 'end']);
    expect(inner.calls).toHaveLength(2);
  });

  it('a caller whose deadline is already spent does not open the breaker', () => {
    const { send, inner } = harness({ circuitBreaker: { consecutiveFailures: 2, openMs: 1_000 } }, [answer(200)]);
    send({ headers: { 'x-weft-deadline-ms': '0' } });
    send({ headers: { 'x-weft-deadline-ms': '0' } });
    expect(send().handler.trace).toEqual(['start 200', 'end']);
    expect(inner.calls).toHaveLength(1);
  });
});

describe('logical stage: one answer per request', () => {
  it('calls that an abandoned attempt makes after the client left are not passed up', () => {
    const { send, inner } = harness(undefined, [hold]);
    const { req, handler } = send();
    req.cancel();
    // A producer that does not honour the cancel keeps calling the handler it was given.
    const late = inner.call(0).handler;
    late.onStart(200, [], inner.call(0).flow, 'OK');
    late.onEnd(null);
    late.onError(new UpstreamResetError('10.1.0.1:8080'));
    expect(handler.trace).toEqual(['error CANCELLED']);
  });

  it('answers exactly once in every scenario above, and leaves no timer behind', () => {
    const scenarios: [PolicyInput | undefined, Step[], string[]][] = [
      [{ retry: { backoff: NO_PAUSE } }, [failWith(new ConnectFailedError('a')), answer(200)], ['start 200', 'end']],
      [{ retry: { attempts: 1 } }, [failWith(new ConnectFailedError('a'))], ['error CONNECT_FAILED']],
      [{ retry: { on: ['503'], backoff: NO_PAUSE } }, [answer(503), answer(503), answer(503)], ['start 503', 'end']],
      [undefined, [answer(200, { breakWith: new UpstreamResetError('a') })], ['start 200', 'error UPSTREAM_RESET']],
      [{ routes: [{ backends: [{ weight: 1 }], fault: { abort: { percent: 100, status: 503 } } }] }, [], ['error FAULT_INJECTED']],
    ];
    for (const [policy, steps, trace] of scenarios) {
      const { send, clock } = harness(policy, steps);
      const { handler } = send();
      expect(handler.trace).toEqual(trace);
      expect(handler.finals).toBe(1);
      expect(clock.pending()).toBe(0);
    }
  });
});
