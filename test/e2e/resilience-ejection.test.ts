// E2E (issue 4, scenario 3): passive outlier detection ejects an instance that answers 500 to everything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy, pacedLoad, ResilienceMesh } from './fixtures/resilience-mesh.js';

const CONSECUTIVE_5XX = 5;
const POLICY = `
kind: ServicePolicy
service: greeter
loadBalancer: { algorithm: round-robin }
outlierDetection: { consecutive5xx: ${CONSECUTIVE_5XX}, consecutiveGatewayErrors: 5, baseEjectionMs: 30000, maxEjectionPercent: 50 }
`;

describe('resilience: outlier ejection', () => {
  let mesh: ResilienceMesh;

  beforeAll(async () => {
    mesh = await ResilienceMesh.start([{ id: 'greeter-1' }, { id: 'greeter-2' }, { id: 'broken', env: { FAIL_STATUS: '500' } }]);
    await mesh.apply(POLICY);
  }, 60_000);

  afterAll(() => mesh?.close(), 30_000);

  it('an instance answering 500 to everything is ejected; after ejection clients see ≤ 1% errors', async () => {
    // 2.5 s at 300 requests/s, well inside the 30 s ejection; meanwhile the sidecar's metrics tell when the ejection happened.
    let ejectedAt: number | undefined;
    let loading = true;
    const watcher = (async () => {
      for (let i = 0; i < 200 && loading && ejectedAt === undefined; i++) {
        const lines = await mesh.metricLines('weft_proxy_endpoints_ejected');
        if (lines.some((line) => / [1-9][0-9]*$/.test(line))) ejectedAt = Date.now();
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const samples = await pacedLoad(() => mesh.hello(), { rate: 300, count: 750, maxMs: 10_000 });
    loading = false;
    await watcher;
    const errorAt = samples.flatMap((s, i) => (s.status === 200 ? [] : [i]));
    // Requests sent once the ejection was visible (at most one 50 ms poll after it happened).
    const after = samples.filter((s) => ejectedAt !== undefined && s.sentEpochMs > ejectedAt);
    const errorsAfter = after.filter((s) => s.status !== 200);
    const ejections = await mesh.metricLines('eject');
    console.log(
      `outlier ejection: ${errorAt.length} errors in ${samples.length} requests, at ${JSON.stringify(errorAt.slice(0, 12))}; ejection visible at request ` +
        `${samples.length - after.length}; after it ${errorsAfter.length} errors in ${after.length} ${JSON.stringify(countBy(after, (s) => s.instance))}; metrics: ${ejections.join(' | ')}`,
    );
    expect(ejectedAt, 'weft_proxy_endpoints_ejected never rose above 0').toBeDefined();
    expect(errorAt.length).toBeGreaterThanOrEqual(CONSECUTIVE_5XX);
    expect(after.length).toBeGreaterThanOrEqual(500);
    expect(errorsAfter.length).toBeLessThanOrEqual(after.length * 0.01);
  }, 60_000);
});
