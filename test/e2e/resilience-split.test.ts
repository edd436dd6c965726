// E2E (issue 4, scenarios 5 and 7): a 90/10 traffic split by instance meta with a canary header, and a split switched while traffic flows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy, failuresOf, pacedLoad, ResilienceMesh } from './fixtures/resilience-mesh.js';

const CANARY_POLICY = `
kind: ServicePolicy
service: greeter
routes:
  - match: { headers: { x-canary: "1" } }
    backends: [ { subset: { version: v2 }, weight: 100 } ]
  - match: { pathPrefix: / }
    backends: [ { subset: { version: v1 }, weight: 90 }, { subset: { version: v2 }, weight: 10 } ]
`;
const splitPolicy = (v1: number, v2: number) => `
kind: ServicePolicy
service: greeter
routes:
  - backends: [ { subset: { version: v1 }, weight: ${v1} }, { subset: { version: v2 }, weight: ${v2} } ]
`;

describe('resilience: traffic split and live policy change', () => {
  let mesh: ResilienceMesh;

  beforeAll(async () => {
    const v1 = { meta: { version: 'v1' }, env: { VERSION: 'v1' } };
    const v2 = { meta: { version: 'v2' }, env: { VERSION: 'v2' } };
    mesh = await ResilienceMesh.start([{ id: 'v1-a', ...v1 }, { id: 'v1-b', ...v1 }, { id: 'v2-a', ...v2 }]);
  }, 60_000);

  afterAll(() => mesh?.close(), 30_000);

  it('90/10 split over 2,000 requests lands within ±3%; a request with x-canary: 1 always reaches v2', async () => {
    await mesh.apply(CANARY_POLICY);
    const samples = await pacedLoad(() => mesh.hello(), { rate: 800, count: 2000, maxMs: 15_000 });
    expect(failuresOf(samples)).toEqual([]);
    const versions = countBy(samples, (s) => s.version);
    const v2Share = (versions.v2 ?? 0) / samples.length;
    const canary = await pacedLoad(() => mesh.hello({ 'x-canary': '1' }), { rate: 400, count: 200, maxMs: 10_000 });
    const canaryVersions = countBy(canary, (s) => s.version);
    console.log(`split: ${JSON.stringify(versions)} of ${samples.length} (v2 ${(v2Share * 100).toFixed(2)}%); with x-canary: 1 ${JSON.stringify(canaryVersions)}`);
    expect(samples.length).toBe(2000);
    expect(v2Share).toBeGreaterThanOrEqual(0.07);
    expect(v2Share).toBeLessThanOrEqual(0.13);
    expect(failuresOf(canary)).toEqual([]);
    expect(canaryVersions).toEqual({ v2: 200 });
  }, 60_000);

  it('a policy applied while traffic flows fails no request and is in effect within 1 s', async () => {
    await mesh.apply(splitPolicy(100, 0));
    let switched: Promise<number> | undefined;
    let storedAt: number | undefined;
    // 200 requests/s; the switch to 0/100 is applied 0.25 s in, and the load goes on until 1.5 s after `weft apply`
    // returned (starting the command may itself take a second or two on a busy machine).
    const samples = await pacedLoad(() => mesh.hello(), {
      rate: 200,
      count: 3000,
      maxMs: 15_000,
      at: {
        index: 50,
        action: () => {
          switched = mesh.apply(splitPolicy(0, 100));
          switched.then((at) => (storedAt = at), () => (storedAt = 0));
        },
      },
      until: () => storedAt !== undefined && Date.now() > storedAt + 1_500,
    });
    const appliedAt = await switched!;
    const lastV1 = Math.max(...samples.filter((s) => s.version === 'v1').map((s) => s.sentEpochMs));
    const firstV2 = Math.min(...samples.filter((s) => s.version === 'v2').map((s) => s.sentEpochMs));
    const late = samples.filter((s) => s.sentEpochMs > appliedAt + 1000);
    console.log(
      `live change: ${JSON.stringify(countBy(samples, (s) => s.version))}; stored at +${appliedAt - (samples[0]?.sentEpochMs ?? 0)} ms; ` +
        `first v2 ${firstV2 - appliedAt} ms and last v1 ${lastV1 - appliedAt} ms after it; ${late.length} requests judged after 1 s`,
    );
    expect(failuresOf(samples)).toEqual([]);
    expect(late.length).toBeGreaterThanOrEqual(80);
    expect(countBy(late, (s) => s.version)).toEqual({ v2: late.length });
    expect(lastV1 - appliedAt).toBeLessThan(1000);
  }, 60_000);
});
