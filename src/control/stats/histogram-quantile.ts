// Control stats: quantiles from cumulative histogram buckets, interpolating linearly within a bucket as Prometheus' histogram_quantile does.

/** One cumulative bucket: how many observations were at most `le` (Infinity for the +Inf bucket). */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/**
 * The q-quantile (0..1) of cumulative buckets sorted by `le`; null without observations.
 * Like Prometheus: the lowest bucket starts at 0 (when its bound is positive), and a rank that lands in
 * the +Inf bucket answers the highest finite bound, since nothing better is known.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number | null {
  const last = buckets[buckets.length - 1];
  if (!last || last.count <= 0 || !(q >= 0 && q <= 1)) return null;
  const total = last.count;
  const rank = q * total;
  let previousLe = 0;
  let previousCount = 0;
  for (let i = 0; i < buckets.length; i++) {
    const bucket = buckets[i]!;
    if (bucket.count >= rank && bucket.count > previousCount) {
      if (bucket.le === Infinity) return i === 0 ? null : previousLe;
      const start = i === 0 && bucket.le <= 0 ? bucket.le : previousLe;
      return start + ((bucket.le - start) * (rank - previousCount)) / (bucket.count - previousCount);
    }
    previousLe = bucket.le;
    previousCount = bucket.count;
  }
  return previousLe === Infinity ? null : previousLe;
}
