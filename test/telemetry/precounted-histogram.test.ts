import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BucketCounts, PrecountedHistogram } from '../../src/telemetry/precounted-histogram.js';

describe('precounted histogram', () => {
  it('counts into the first bucket whose bound holds the value, and scrapes cumulative buckets, sum and count per series', async () => {
    const registry = new Registry();
    const fast = new BucketCounts([0.01, 0.1, 1]);
    const slow = new BucketCounts([0.01, 0.1, 1]);
    new PrecountedHistogram('t_seconds', 'test', registry, ['path'], [0.01, 0.1, 1], () => [
      { labels: { path: '/fast' }, buckets: fast },
      { labels: { path: '/slow' }, buckets: slow },
    ]);
    for (const value of [0.005, 0.01, 0.05]) fast.observe(value);
    for (const value of [0.5, 2]) slow.observe(value);
    const text = await registry.metrics();
    expect(text).toContain('t_seconds_bucket{path="/fast",le="0.01"} 2');
    expect(text).toContain('t_seconds_bucket{path="/fast",le="0.1"} 3');
    expect(text).toContain('t_seconds_bucket{path="/fast",le="+Inf"} 3');
    expect(text).toContain('t_seconds_count{path="/fast"} 3');
    expect(text).toContain('t_seconds_bucket{path="/slow",le="1"} 1');
    expect(text).toContain('t_seconds_bucket{path="/slow",le="+Inf"} 2');
    expect(text).toContain('t_seconds_sum{path="/slow"} 2.5');
    const json = await registry.getMetricsAsJSON();
    expect(json[0]?.values.filter((v) => v.labels['path'] === '/slow' && v.labels['le'] === '0.1')[0]?.value).toBe(0);
  });
});
