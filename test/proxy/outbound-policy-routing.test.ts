import { describe, it, expect } from 'vitest';
import { instance, quietRuntime, send } from './request-path-fixtures.js';
import { policyHarness, policySnapshots, runConcurrently } from './policy-fixtures.js';

const { upstreams, outbound, keepAlive } = policyHarness();

describe('outbound policy: balancing and routes', () => {
  it('p2c-ewma sends most requests away from a slow endpoint', async () => {
    const [a, b, slow] = await upstreams(['a'], ['b'], ['slow', 200, 150]);
    const port = await outbound({
      snapshots: policySnapshots([instance('greeter-a', a!.port), instance('greeter-b', b!.port), instance('greeter-slow', slow!.port)], {
        greeter: { loadBalancer: { algorithm: 'p2c-ewma' } },
      }),
    });
    const agent = keepAlive();
    for (let i = 0; i < 30; i++) await send(port, { agent });
    const before = slow!.hits;
    await runConcurrently(120, 4, () => send(port, { agent }));
    expect(slow!.hits - before).toBeLessThan(24);
  });

  it('splits 90/10 between subsets by instance meta', async () => {
    const [v1a, v1b, v2] = await upstreams(['v1a'], ['v1b'], ['v2']);
    const port = await outbound({
      snapshots: policySnapshots(
        [instance('greeter-v1a', v1a!.port, { meta: { version: 'v1' } }), instance('greeter-v1b', v1b!.port, { meta: { version: 'v1' } }), instance('greeter-v2', v2!.port, { meta: { version: 'v2' } })],
        {
          greeter: {
            routes: [
              { match: { headers: { 'x-canary': '1' } }, backends: [{ subset: { version: 'v2' }, weight: 100 }] },
              { match: { pathPrefix: '/' }, backends: [{ subset: { version: 'v1' }, weight: 90 }, { subset: { version: 'v2' }, weight: 10 }] },
            ],
          },
        },
      ),
    });
    const agent = keepAlive();
    const replies = await runConcurrently(1000, 8, () => send(port, { agent }));
    const v2Share = replies.filter((r) => r.headers['x-upstream'] === 'v2').length / replies.length;
    expect(v2Share).toBeGreaterThan(0.07);
    expect(v2Share).toBeLessThan(0.13);
    // Within the v1 subset its round-robin balancer alternates evenly.
    expect(Math.abs(v1a!.hits - v1b!.hits)).toBeLessThanOrEqual(2);
    // The canary header always reaches v2.
    for (let i = 0; i < 20; i++) expect((await send(port, { agent, headers: { 'x-canary': '1' } })).headers['x-upstream']).toBe('v2');
  });

  it('ring-hash on a header: the same key always reaches the same endpoint', async () => {
    const servers = await upstreams(['a'], ['b'], ['c'], ['d']);
    const port = await outbound({
      snapshots: policySnapshots(
        servers.map((s) => instance(`greeter-${s.name}`, s.port)),
        { greeter: { loadBalancer: { algorithm: 'ring-hash', hashOn: { header: 'x-user' } } } },
      ),
    });
    const agent = keepAlive();
    const owners = new Set<string>();
    for (let user = 0; user < 12; user++) {
      const seen = new Set<string>();
      for (let i = 0; i < 5; i++) seen.add((await send(port, { agent, headers: { 'x-user': `user-${user}` } })).headers['x-upstream'] as string);
      expect(seen.size, `user-${user}`).toBe(1);
      owners.add([...seen][0]!);
    }
    // Keys spread over more than one endpoint.
    expect(owners.size).toBeGreaterThan(1);
  });

  it('a policy naming an algorithm wins over the sidecar default; the default round-robin leaves --lb in charge', async () => {
    const servers = await upstreams(['a'], ['b']);
    const snapshots = policySnapshots(servers.map((s) => instance(`greeter-${s.name}`, s.port)), { greeter: { timeout: { requestMs: 5000 } } });
    const port = await outbound({ snapshots, balancers: { greeter: 'ring-hash' } });
    // --lb ring-hash without a hash key spreads at random; round-robin would alternate exactly.
    const names: string[] = [];
    for (let i = 0; i < 40; i++) names.push((await send(port)).headers['x-upstream'] as string);
    const alternating = names.every((n, i) => i === 0 || n !== names[i - 1]);
    expect(alternating).toBe(false);
    snapshots.setPolicy('greeter', { loadBalancer: { algorithm: 'weighted' } });
    const next: string[] = [];
    for (let i = 0; i < 10; i++) next.push((await send(port)).headers['x-upstream'] as string);
    expect(next.every((n, i) => i === 0 || n !== next[i - 1])).toBe(true);
  });
});

describe('outbound policy: fault injection', () => {
  it('aborts with the fault status and FAULT_INJECTED, without reaching the upstream', async () => {
    const [a] = await upstreams(['a']);
    const runtime = quietRuntime();
    const port = await outbound({
      runtime,
      snapshots: policySnapshots([instance('greeter-a', a!.port)], {
        greeter: { routes: [{ match: { pathPrefix: '/broken' }, backends: [{ weight: 1 }], fault: { abort: { percent: 100, status: 418 } } }] },
      }),
    });
    const reply = await send(port, { path: '/broken/x' });
    expect(reply.status).toBe(418);
    expect(reply.headers['x-weft-error']).toBe('FAULT_INJECTED');
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'FAULT_INJECTED', status: 418 });
    expect(a!.hits).toBe(0);
    expect((await send(port, { path: '/fine' })).status).toBe(200);
    expect(await runtime.metrics.metrics()).toMatch(/weft_proxy_faults_total\{service="greeter",kind="abort"\} 1/);
  });

  it('delays a request by the fault delay, then forwards it', async () => {
    const [a] = await upstreams(['a']);
    const port = await outbound({
      snapshots: policySnapshots([instance('greeter-a', a!.port)], {
        greeter: { routes: [{ backends: [{ weight: 1 }], fault: { delay: { percent: 100, ms: 250 } } }] },
      }),
    });
    const started = performance.now();
    const reply = await send(port);
    expect(reply.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
  });
});
