// E2E (issue 4, scenario 1): SIGKILL of one of three instances under ~200 requests/s costs the clients no request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy, failuresOf, pacedLoad, ResilienceMesh } from './fixtures/resilience-mesh.js';

const RETRY = `retry: { attempts: 3, on: [connect-failure, reset, gateway-error], budget: { ratio: 0.2, minPerSecond: 10 }, backoff: { baseMs: 5, maxMs: 50 } }`;
/** Retries carry the requests that met the dead instance; ejection takes it off offer before its registration lapses. */
const POLICY = `
kind: ServicePolicy
service: greeter
loadBalancer: { algorithm: round-robin }
timeout: { requestMs: 5000, perTryMs: 2000 }
${RETRY}
outlierDetection: { consecutive5xx: 5, consecutiveGatewayErrors: 5, baseEjectionMs: 30000, maxEjectionPercent: 50 }
`;
/** The same without ejection: only retries stand between the dead instance and the callers. */
const RETRY_ONLY_POLICY = `
kind: ServicePolicy
service: greeter
loadBalancer: { algorithm: round-robin }
timeout: { requestMs: 5000, perTryMs: 2000 }
${RETRY}
`;

describe('resilience: an instance dies under load', () => {
  let mesh: ResilienceMesh;

  beforeAll(async () => {
    mesh = await ResilienceMesh.start([{ id: 'greeter-1' }, { id: 'greeter-2' }, { id: 'greeter-3' }]);
  }, 60_000);

  afterAll(() => mesh?.close(), 30_000);

  /**
   * 3.5 s of load at 200 requests/s; the instance (app and sidecar) dies 1 s in, with no deregistration: it stays in
   * the registry until its 2 s TTL lapses, so most of the run is spent with a dead instance still on offer.
   */
  const killUnderLoad = async (policy: string, victim: string, survivors: readonly string[]): Promise<void> => {
    await mesh.apply(policy);
    const samples = await pacedLoad(() => mesh.hello(), {
      rate: 200,
      count: 700,
      maxMs: 8_000,
      at: { index: 200, action: () => expect(mesh.kill(victim)).toBe(true) },
    });
    const before = countBy(samples.slice(0, 150), (s) => s.instance);
    const after = countBy(samples.slice(350), (s) => s.instance);
    const metrics = [...(await mesh.metricLines('retr')), ...(await mesh.metricLines('eject'))];
    console.log(
      `failover: ${samples.length} requests; in the first 0.75 s ${JSON.stringify(before)}; from 0.75 s after ${JSON.stringify(after)}; metrics: ${metrics.join(' | ')}`,
    );
    expect(samples.length).toBe(700);
    expect(failuresOf(samples)).toEqual([]);
    // The killed instance was a full member until shortly before (not already ejected), so its death is what was covered.
    expect(before[victim] ?? 0).toBeGreaterThanOrEqual(30);
    await mesh.waitForPassing(survivors, 20_000);
  };

  it('SIGKILL of 1 of 3 instances during ~200 requests/s, with retries and outlier detection: 0 client-visible failures', async () => {
    await killUnderLoad(POLICY, 'greeter-3', ['greeter-1', 'greeter-2']);
  }, 60_000);

  it('the same with retries alone: 0 client-visible failures', async () => {
    await mesh.addGreeter({ id: 'greeter-4' });
    await mesh.waitForPassing(['greeter-1', 'greeter-2', 'greeter-4']);
    await killUnderLoad(RETRY_ONLY_POLICY, 'greeter-4', ['greeter-1', 'greeter-2']);
  }, 60_000);
});
