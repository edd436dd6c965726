// E2E (issue 4, scenario 2): with p2c-ewma the client's sidecar steers around an instance slowed by 200 ms.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy, failuresOf, pacedLoad, percentile, ResilienceMesh } from './fixtures/resilience-mesh.js';

const POLICY = `
kind: ServicePolicy
service: greeter
loadBalancer: { algorithm: p2c-ewma }
`;

describe('resilience: a slow instance under p2c-ewma', () => {
  let mesh: ResilienceMesh;

  beforeAll(async () => {
    mesh = await ResilienceMesh.start([{ id: 'greeter-1' }, { id: 'greeter-2' }, { id: 'slow', env: { DELAY_MS: '200' } }]);
    await mesh.apply(POLICY);
  }, 60_000);

  afterAll(() => mesh?.close(), 30_000);

  it('one of 3 instances slowed by 200 ms: ≥ 80% of requests avoid it after 5 s, and at most 5% pay its delay', async () => {
    // 14 s at 250 requests/s; the first 5 s are for learning, the ~2,250 requests after them are judged.
    // p2c probes a shunned instance now and then as its estimate decays: a time-based rate, so judging
    // ~2,000 requests keeps those probes well under the 1% that p99 tolerates.
    // The client p99 itself is printed, not asserted: on a loaded 2-core machine scheduling delays alone can
    // reach 100 ms, and they also make the healthy instances look slower, so p2c probes the slow one more often.
    // The test checks the cause instead, with room for that load: at most 5% of requests met the slow instance
    // (on a quiet machine it is well under 1%, which keeps the client p99 below its 200 ms).
    const samples = await pacedLoad(() => mesh.hello(), { rate: 250, count: 3500, maxMs: 20_000 });
    expect(failuresOf(samples)).toEqual([]);
    const learning = samples.filter((s) => s.sentAt < 5_000);
    const judged = samples.filter((s) => s.sentAt >= 5_000);
    const slow = judged.filter((s) => s.instance === 'slow').length;
    const avoided = 1 - slow / judged.length;
    const p99 = percentile(judged.map((s) => s.latencyMs), 99);
    const p50 = percentile(judged.map((s) => s.latencyMs), 50);
    console.log(
      `p2c-ewma: first 5 s ${JSON.stringify(countBy(learning, (s) => s.instance))}; after ${JSON.stringify(countBy(judged, (s) => s.instance))}; ` +
        `avoided ${(avoided * 100).toFixed(1)}% of ${judged.length}; p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`,
    );
    expect(judged.length).toBeGreaterThanOrEqual(500);
    expect(avoided).toBeGreaterThanOrEqual(0.8);
    expect(slow / judged.length).toBeLessThanOrEqual(0.05);
  }, 60_000);
});
