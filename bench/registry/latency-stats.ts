// Bench (registry): percentiles of latency samples, and the fan-out view of a (write × watcher) latency matrix.

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of ascending `sorted`; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

/** Summary of the finite samples (NaN marks a sample that never arrived and is left out). */
export function summarize(samples: ArrayLike<number>): LatencySummary {
  const finite: number[] = [];
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const value = samples[i] ?? Number.NaN;
    if (Number.isFinite(value)) {
      finite.push(value);
      sum += value;
    }
  }
  const sorted = Float64Array.from(finite).sort();
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] ?? Number.NaN),
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
  };
}

export interface FanOutSummary {
  /** Over every (write, watcher) pair that arrived. */
  pairs: LatencySummary;
  /** Per write, the latency of its slowest watcher: the time until every watcher had seen it. */
  slowestPerWrite: LatencySummary;
  /** (write, watcher) pairs that never arrived before the deadline. */
  missing: number;
}

/**
 * Fan-out latency of `writes` writes to `watchers` watchers, from matrices laid out write-major
 * (`latencies[write * watchers + watcher]`, NaN = never seen). Several matrices (one per watcher
 * process) are concatenated along the watcher axis.
 */
export function fanOut(parts: readonly { latencies: Float64Array; watchers: number }[], writes: number): FanOutSummary {
  const all: number[] = [];
  const slowest: number[] = [];
  let missing = 0;
  for (let write = 0; write < writes; write++) {
    let worst = Number.NaN;
    let complete = true;
    for (const part of parts) {
      for (let watcher = 0; watcher < part.watchers; watcher++) {
        const value = part.latencies[write * part.watchers + watcher] ?? Number.NaN;
        if (Number.isFinite(value)) {
          all.push(value);
          if (!(value <= worst)) worst = value;
        } else {
          missing++;
          complete = false;
        }
      }
    }
    // A write some watcher never saw has no "seen by every watcher" time.
    if (complete) slowest.push(worst);
  }
  return { pairs: summarize(all), slowestPerWrite: summarize(slowest), missing };
}
