// E2E (issue 4, scenario 4): when every instance fails, the retry budget keeps retries to a share of requests — no retry storm.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pacedLoad, ResilienceMesh } from './fixtures/resilience-mesh.js';

const RATIO = 0.2;
const MIN_PER_SECOND = 10;
/** The budget's sliding window: its reserve never holds more than this many seconds of minPerSecond. */
const WINDOW_S = 10;
/** Slack for the replies counted at the edges of the window. */
const MARGIN = 5;
const POLICY = `
kind: ServicePolicy
service: greeter
retry: { attempts: 3, on: ["500"], budget: { ratio: ${RATIO}, minPerSecond: ${MIN_PER_SECOND} }, backoff: { baseMs: 5, maxMs: 20 } }
`;

describe('resilience: retry budget', () => {
  let mesh: ResilienceMesh;

  beforeAll(async () => {
    const failing = { FAIL_STATUS: '500' };
    mesh = await ResilienceMesh.start([
      { id: 'greeter-1', env: failing },
      { id: 'greeter-2', env: failing },
      { id: 'greeter-3', env: failing },
    ]);
    await mesh.apply(POLICY);
  }, 60_000);

  afterAll(() => mesh?.close(), 30_000);

  it('all instances answer 500: upstream requests stay ≤ requests × 1.2 + minPerSecond × seconds', async () => {
    const before = await mesh.totalHits();
    const samples = await pacedLoad(() => mesh.hello(), { rate: 150, count: 300, maxMs: 10_000 });
    const hits = (await mesh.totalHits()) - before;
    // The budget cannot be older than the client sidecar, so its reserve holds at most that many seconds (one bucket more).
    const seconds = Math.min(WINDOW_S, Math.ceil((Date.now() - mesh.clientStartedAt) / 1000)) + 1;
    const requests = samples.length;
    const retries = hits - requests;
    const bound = requests * RATIO + MIN_PER_SECOND * seconds + MARGIN;
    const retryLines = await mesh.metricLines('retr');
    console.log(
      `retry budget: ${requests} requests, ${hits} upstream hits, ${retries} retries; allowed ${bound} ` +
        `(${RATIO} × ${requests} + ${MIN_PER_SECOND} × ${seconds} s + ${MARGIN}); unbudgeted would be ${requests * 2}; metrics: ${retryLines.join(' | ')}`,
    );
    expect(samples.every((s) => s.status === 500)).toBe(true);
    expect(hits).toBeGreaterThanOrEqual(requests);
    // The policy retries 500s at all (some budget is spent)...
    expect(retries).toBeGreaterThanOrEqual(requests * 0.1);
    // ...but never beyond the budget.
    expect(retries).toBeLessThanOrEqual(bound);
  }, 60_000);
});
