// Control stats: quantile math against hand-made histograms, as Prometheus' histogram_quantile computes it.
import { describe, expect, it } from 'vitest';
import { histogramQuantile, type Bucket } from '../../../src/control/stats/index.js';

const buckets = (pairs: ReadonlyArray<[number, number]>): Bucket[] => pairs.map(([le, count]) => ({ le, count }));

describe('histogramQuantile', () => {
  // 100 observations: 10 ≤ 0.1, 50 ≤ 0.2, 90 ≤ 0.5, 100 ≤ 1.
  const h = buckets([[0.1, 10], [0.2, 50], [0.5, 90], [1, 100], [Infinity, 100]]);

  it('interpolates linearly within the bucket holding the rank', () => {
    expect(histogramQuantile(0.5, h)).toBeCloseTo(0.2 - 0 * 0.1, 10); // rank 50 is the top of (0.1, 0.2]
    expect(histogramQuantile(0.3, h)).toBeCloseTo(0.1 + 0.1 * (30 - 10) / 40, 10);
    expect(histogramQuantile(0.95, h)).toBeCloseTo(0.5 + 0.5 * (95 - 90) / 10, 10);
    expect(histogramQuantile(0.99, h)).toBeCloseTo(0.5 + 0.5 * (99 - 90) / 10, 10);
  });

  it('starts the lowest bucket at zero', () => {
    expect(histogramQuantile(0.05, h)).toBeCloseTo(0.05, 10);
  });

  it('answers the highest finite bound when the rank falls in +Inf', () => {
    const tail = buckets([[0.1, 5], [0.5, 8], [Infinity, 10]]);
    expect(histogramQuantile(0.99, tail)).toBe(0.5);
    expect(histogramQuantile(0.5, tail)).toBeCloseTo(0.1 * 5 / 5, 10);
  });

  it('skips empty buckets before the rank', () => {
    const sparse = buckets([[0.001, 0], [0.01, 0], [0.1, 4], [1, 4], [Infinity, 4]]);
    expect(histogramQuantile(0.5, sparse)).toBeCloseTo(0.01 + 0.09 * 0.5, 10);
    expect(histogramQuantile(1, sparse)).toBeCloseTo(0.1, 10);
  });

  it('has no answer without observations or for a q outside 0..1', () => {
    expect(histogramQuantile(0.5, buckets([[0.1, 0], [Infinity, 0]]))).toBeNull();
    expect(histogramQuantile(0.5, [])).toBeNull();
    expect(histogramQuantile(1.5, h)).toBeNull();
  });
});
