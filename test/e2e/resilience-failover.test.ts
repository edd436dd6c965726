// E2E (issue 4, scenario 1): SIGKILL of one of three instances under ~200 requests/s costs the clients no request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy, failuresOf, pacedLoad, ResilienceMesh } from './fixtures/resilience-mesh.js';

const POLICY = `
kind: ServicePolicy
service: greeter
loadBalancer: { algorithm: round-robin }
timeout: { requestMs: 5000, perTryMs: 2000 }
retry: { attempts: 3, on: [connect-failure, reset, gateway-error], budget: { ratio: 0.2, minPerSecond: 10 }, backoff: { baseMs: 5, maxMs: 50 } }
`;

describe('resilience: an instance dies under load', () => {
  let mesh: ResilienceMesh;

  beforeAll(async () => {
    mesh = await ResilienceMesh.start([{ id: 'greeter-1' }, { id: 'greeter-2' }, { id: 'greeter-3' }]);
    await mesh.apply(POLICY);
  }, 60_000);

  afterAll(() => mesh?.close(), 30_000);

  it('SIGKILL of 1 of 3 instances during ~200 requests/s: 0 client-visible failures', async () => {
    // 4 s of load; the instance (app and sidecar) dies after 1.5 s, with no deregistration.
    const samples = await pacedLoad(() => mesh.hello(), {
      rate: 200,
      count: 800,
      maxMs: 8_000,
      at: { index: 300, action: () => expect(mesh.kill('greeter-3')).toBe(true) },
    });
    const before = countBy(samples.slice(0, 300), (s) => s.instance);
    const after = countBy(samples.slice(450), (s) => s.instance);
    console.log(`failover: ${samples.length} requests; before the kill ${JSON.stringify(before)}; from 0.75 s after ${JSON.stringify(after)}`);
    expect(samples.length).toBeGreaterThanOrEqual(700);
    expect(failuresOf(samples)).toEqual([]);
    // All three served before the kill; the dead one none once the registry let it go.
    expect(Object.keys(before).sort()).toEqual(['greeter-1', 'greeter-2', 'greeter-3']);
    await mesh.waitForPassing(['greeter-1', 'greeter-2'], 20_000);
  }, 60_000);
});
