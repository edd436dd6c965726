import { describe, it, expect } from 'vitest';
import { instance, quietRuntime, send, until } from './request-path-fixtures.js';
import { policyHarness, policySnapshots, runConcurrently } from './policy-fixtures.js';

const { upstreams, outbound, keepAlive } = policyHarness();


async function metricsText(runtime: ReturnType<typeof quietRuntime>): Promise<string> {
  return runtime.metrics.metrics();
}

describe('outbound policy: retries', () => {
  it('retries a 503 for GET, not for POST, unless the route allows non-idempotent retries', async () => {
    const [bad, good] = await upstreams(['bad', 503], ['good']);
    const port = await outbound({
      snapshots: policySnapshots([instance('greeter-a-bad', bad!.port), instance('greeter-b-good', good!.port)], {
        greeter: {
          retry: { on: ['503'], backoff: { baseMs: 1, maxMs: 2 } },
          routes: [
            { match: { headers: { 'x-replay': 'yes' } }, backends: [{ weight: 1 }], retry: { nonIdempotent: true } },
            { backends: [{ weight: 1 }] },
          ],
        },
      }),
    });
    const agent = keepAlive();
    for (let i = 0; i < 6; i++) expect((await send(port, { agent })).status).toBe(200);
    const posts = [];
    for (let i = 0; i < 6; i++) posts.push((await send(port, { agent, method: 'POST', body: `p${i}` })).status);
    expect(posts).toContain(503);
    for (let i = 0; i < 6; i++) expect((await send(port, { agent, method: 'POST', body: `q${i}`, headers: { 'x-replay': 'yes' } })).status).toBe(200);
    // The retried attempt carries its retry number; the first attempt carries none.
    const retried = good!.seen.filter((h) => h['x-weft-retry-attempt'] !== undefined);
    expect(retried.length).toBeGreaterThan(0);
    for (const h of retried) expect(h['x-weft-retry-attempt']).toBe('1');
    for (const h of bad!.seen) expect(h['x-weft-retry-attempt']).toBeUndefined();
  });

  it('answers the last response when the retries run out', async () => {
    const [a, b] = await upstreams(['a', 503], ['b', 503]);
    const port = await outbound({
      snapshots: policySnapshots([instance('greeter-a', a!.port), instance('greeter-b', b!.port)], {
        greeter: { retry: { attempts: 2, on: ['gateway-error'], backoff: { baseMs: 1, maxMs: 2 } } },
      }),
    });
    const reply = await send(port);
    expect(reply.status).toBe(503);
    expect(reply.headers['x-upstream']).toBeDefined();
    expect(a!.hits + b!.hits).toBe(2);
  });

  it('keeps retries within the budget when every endpoint fails', async () => {
    const servers = await upstreams(['a', 503], ['b', 503], ['c', 503]);
    const runtime = quietRuntime();
    const port = await outbound({
      runtime,
      snapshots: policySnapshots(servers.map((s) => instance(`greeter-${s.name}`, s.port)), {
        greeter: { retry: { attempts: 3, on: ['503'], budget: { ratio: 0.2, minPerSecond: 1 }, backoff: { baseMs: 1, maxMs: 2 } } },
      }),
    });
    const agent = keepAlive();
    const replies = await runConcurrently(200, 4, () => send(port, { agent }));
    expect(replies.every((r) => r.status === 503)).toBe(true);
    const hits = servers.reduce((sum, s) => sum + s.hits, 0);
    // 200 requests, at most 20% retries plus the reserve accrued over the (short) test.
    expect(hits - 200).toBeLessThanOrEqual(40 + 10);
    expect(hits - 200).toBeGreaterThan(0);
    expect(await metricsText(runtime)).toMatch(/weft_proxy_retry_budget_exhausted_total\{service="greeter"\} [1-9]/);
  });
});

describe('outbound policy: timeouts and deadlines', () => {
  it('a per-try timeout sends the request to another endpoint', async () => {
    const [slow, fast] = await upstreams(['a-slow', 200, 2000], ['b-fast']);
    const port = await outbound({
      snapshots: policySnapshots([instance('greeter-a-slow', slow!.port), instance('greeter-b-fast', fast!.port)], {
        greeter: { timeout: { requestMs: 5000, perTryMs: 200 }, retry: { on: ['gateway-error'], backoff: { baseMs: 1, maxMs: 2 } } },
      }),
    });
    // Round-robin starts on the slow endpoint.
    const reply = await send(port);
    expect(reply.status).toBe(200);
    expect(reply.headers['x-upstream']).toBe('b-fast');
    expect(slow!.hits).toBe(1);
  });

  it('the overall request timeout answers 504 UPSTREAM_TIMEOUT', async () => {
    const [a, b] = await upstreams(['a', 200, 3000], ['b', 200, 3000]);
    const port = await outbound({
      snapshots: policySnapshots([instance('greeter-a', a!.port), instance('greeter-b', b!.port)], {
        greeter: { timeout: { requestMs: 300, perTryMs: 200 }, retry: { on: ['gateway-error'], backoff: { baseMs: 1, maxMs: 2 } } },
      }),
    });
    const reply = await send(port);
    expect(reply.status).toBe(504);
    expect(reply.headers['x-weft-error']).toBe('UPSTREAM_TIMEOUT');
  });

  it('propagates the remaining time in x-weft-deadline-ms and honours a caller deadline', async () => {
    const [a] = await upstreams(['a']);
    const port = await outbound({
      snapshots: policySnapshots([instance('greeter-a', a!.port)], { greeter: { timeout: { requestMs: 2000 } } }),
    });
    expect((await send(port)).status).toBe(200);
    const sent = Number(a!.seen[0]!['x-weft-deadline-ms']);
    expect(sent).toBeGreaterThan(1000);
    expect(sent).toBeLessThanOrEqual(2000);
    // A caller's shorter deadline replaces it, never travels beside it.
    expect((await send(port, { headers: { 'x-weft-deadline-ms': '700' } })).status).toBe(200);
    const second = a!.seen[1]!['x-weft-deadline-ms'];
    expect(typeof second).toBe('string');
    expect(Number(second)).toBeLessThanOrEqual(700);
    // A slow endpoint past the caller's deadline: 504 DEADLINE_EXCEEDED.
    a!.behaviour = { status: 200, delayMs: 1500 };
    const late = await send(port, { headers: { 'x-weft-deadline-ms': '150' } });
    expect(late.status).toBe(504);
    expect(late.headers['x-weft-error']).toBe('DEADLINE_EXCEEDED');
    // No time left at all: nothing is sent.
    const hits = a!.hits;
    const spent = await send(port, { headers: { 'x-weft-deadline-ms': '0' } });
    expect(spent.status).toBe(504);
    expect(a!.hits).toBe(hits);
  });

  it('a service without a policy passes a caller deadline on and adds none of its own', async () => {
    const [a] = await upstreams(['a']);
    const port = await outbound({ snapshots: policySnapshots([instance('greeter-a', a!.port)]) });
    await send(port);
    expect(a!.seen[0]!['x-weft-deadline-ms']).toBeUndefined();
    await send(port, { headers: { 'x-weft-deadline-ms': '900' } });
    expect(Number(a!.seen[1]!['x-weft-deadline-ms'])).toBeLessThanOrEqual(900);
  });
});

describe('outbound policy: breakers', () => {
  it('limits pending requests: the one over the limit gets 503 OVERFLOW at once', async () => {
    const [a] = await upstreams(['a', 200, 400]);
    const runtime = quietRuntime();
    const port = await outbound({
      runtime,
      snapshots: policySnapshots([instance('greeter-a', a!.port)], { greeter: { circuitBreaker: { maxPendingRequests: 1 } } }),
    });
    const first = send(port);
    await until(() => a!.hits === 1);
    const second = await send(port);
    expect(second.status).toBe(503);
    expect(second.headers['x-weft-error']).toBe('OVERFLOW');
    expect((await first).status).toBe(200);
    expect((await send(port)).status).toBe(200);
    expect(await metricsText(runtime)).toMatch(/weft_proxy_circuit_rejections_total\{service="greeter",code="OVERFLOW"\} 1/);
  });

  it('opens after consecutive failures (CIRCUIT_OPEN), then a half-open probe closes it again', async () => {
    const [a] = await upstreams(['a', 500]);
    const runtime = quietRuntime();
    const port = await outbound({
      runtime,
      snapshots: policySnapshots([instance('greeter-a', a!.port)], { greeter: { circuitBreaker: { consecutiveFailures: 3, openMs: 300 } } }),
    });
    for (let i = 0; i < 3; i++) expect((await send(port)).status).toBe(500);
    const open = await send(port);
    expect(open.status).toBe(503);
    expect(open.headers['x-weft-error']).toBe('CIRCUIT_OPEN');
    expect(a!.hits).toBe(3);
    expect(await metricsText(runtime)).toMatch(/weft_proxy_circuit_state\{service="greeter"\} 1/);
    a!.behaviour = { status: 200, delayMs: 0 };
    const deadline = Date.now() + 10_000;
    let status = 0;
    for (let i = 0; i < 200 && Date.now() < deadline && status !== 200; i++) {
      status = (await send(port)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await send(port)).status).toBe(200);
    expect(await metricsText(runtime)).toMatch(/weft_proxy_circuit_state\{service="greeter"\} 0/);
  });
});

describe('outbound policy: ejection and health checks', () => {
  it('ejects an endpoint that answers 500 to everything: clients then see at most 1% errors', async () => {
    const [a, b, broken] = await upstreams(['a'], ['b'], ['broken', 500]);
    const runtime = quietRuntime();
    const port = await outbound({
      runtime,
      snapshots: policySnapshots([instance('greeter-a', a!.port), instance('greeter-b', b!.port), instance('greeter-broken', broken!.port)], {
        greeter: { outlierDetection: { consecutive5xx: 3, baseEjectionMs: 30_000, maxEjectionPercent: 50 } },
      }),
    });
    const agent = keepAlive();
    for (let i = 0; i < 12; i++) await send(port, { agent });
    const replies = await runConcurrently(300, 4, () => send(port, { agent }));
    const errors = replies.filter((r) => r.status >= 500).length;
    expect(errors).toBeLessThanOrEqual(3);
    const text = await metricsText(runtime);
    expect(text).toMatch(/weft_proxy_outlier_ejections_total\{service="greeter"\} 1/);
    expect(text).toMatch(/weft_proxy_endpoints_ejected\{service="greeter"\} 1/);
  });

  it('an active HTTP check takes a failing endpoint out and brings it back', async () => {
    const [a, b] = await upstreams(['a'], ['b']);
    const runtime = quietRuntime();
    const port = await outbound({
      runtime,
      snapshots: policySnapshots([instance('greeter-a', a!.port), instance('greeter-b', b!.port)], {
        greeter: { healthCheck: { http: { path: '/healthz' }, intervalMs: 100, timeoutMs: 80, unhealthyThreshold: 1, healthyThreshold: 1 } },
      }),
    });
    expect((await send(port)).status).toBe(200);
    a!.health = 503;
    const onlyB = async (): Promise<boolean> => {
      const before = a!.hits;
      for (let i = 0; i < 6; i++) await send(port);
      return a!.hits === before;
    };
    await pollUntil(onlyB);
    expect(await metricsText(runtime)).toMatch(/weft_proxy_endpoint_health\{service="greeter",state="unhealthy"\} 1/);
    a!.health = 200;
    await pollUntil(async () => !(await onlyB()));
  });
});

describe('outbound policy: changes', () => {
  it('a policy replaced while requests are in flight fails none of them, and applies to the next', async () => {
    const [a] = await upstreams(['a', 200, 300]);
    const snapshots = policySnapshots([instance('greeter-a', a!.port)], { greeter: { timeout: { requestMs: 5000 } } });
    const port = await outbound({ snapshots });
    const agent = keepAlive();
    const inFlight = Array.from({ length: 6 }, () => send(port, { agent }));
    await until(() => a!.hits === 6);
    snapshots.setPolicy('greeter', { routes: [{ backends: [{ weight: 1 }], fault: { abort: { percent: 100, status: 418 } } }] });
    const next = await send(port, { agent });
    expect(next.status).toBe(418);
    for (const reply of await Promise.all(inFlight)) expect(reply.status).toBe(200);
    snapshots.setPolicy('greeter', null);
    a!.behaviour = { status: 200, delayMs: 0 };
    expect((await send(port, { agent })).status).toBe(200);
  });
});

async function pollUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 500 && Date.now() < deadline; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met before the deadline');
}
