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
    // 2.5 s at 300 requests/s, well inside the 30 s ejection.
    const samples = await pacedLoad(() => mesh.hello(), { rate: 300, count: 750, maxMs: 10_000 });
    const errorAt = samples.flatMap((s, i) => (s.status === 200 ? [] : [i]));
    // Ejection follows the 5th consecutive 500; the requests already sent by then (a generous 20) may still reach it.
    const ejectedBy = (errorAt[CONSECUTIVE_5XX - 1] ?? 0) + 20;
    const after = samples.slice(ejectedBy + 1);
    const errorsAfter = after.filter((s) => s.status !== 200);
    const ejections = await mesh.metricLines('eject');
    console.log(
      `outlier ejection: ${errorAt.length} errors in ${samples.length} requests, at ${JSON.stringify(errorAt.slice(0, 12))}; ` +
        `after request ${ejectedBy}: ${errorsAfter.length} errors in ${after.length} ${JSON.stringify(countBy(after, (s) => s.instance))}; metrics: ${ejections.join(' | ')}`,
    );
    expect(errorAt.length).toBeGreaterThanOrEqual(CONSECUTIVE_5XX);
    expect(after.length).toBeGreaterThanOrEqual(600);
    expect(errorsAfter.length).toBeLessThanOrEqual(after.length * 0.01);
    expect(after.some((s) => s.instance === 'broken')).toBe(false);
  }, 60_000);
});
