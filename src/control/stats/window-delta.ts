// Control stats: what happened between two samples of one sidecar's counters, and rows summed over sidecars.
import { classify, type LatencyQuantiles, type TopologyEdge } from '../../model/index.js';
import { histogramQuantile, type Bucket } from './histogram-quantile.js';
import type { ServiceCounters } from './prom-text.js';

/** Requests and latency buckets counted within a window, summed over one or more sidecars. */
export interface WindowDelta {
  requests: number;
  successes: number;
  rps: number;
  /** Cumulative latency bucket counts by upper bound in seconds; differences of cumulative counts stay cumulative. */
  readonly buckets: Map<number, number>;
}

export function emptyDelta(): WindowDelta {
  return { requests: 0, successes: 0, rps: 0, buckets: new Map() };
}

/** A counter lower than before means the sidecar restarted: as Prometheus does, count from zero. */
function increase(current: number, base: number | undefined): number {
  if (base === undefined || current < base) return current;
  return current - base;
}

/** Adds the change from `base` to `current` of one service's counters, seen over `seconds`, into `into`. */
export function addDelta(into: WindowDelta, current: ServiceCounters, base: ServiceCounters | undefined, seconds: number): void {
  let requests = 0;
  let successes = 0;
  for (const [code, count] of current.codes) {
    const n = increase(count, base?.codes.get(code));
    requests += n;
    if (classify(Number(code)) === 'success') successes += n;
  }
  into.requests += requests;
  into.successes += successes;
  if (seconds > 0) into.rps += requests / seconds;
  for (const [le, count] of current.buckets) into.buckets.set(le, (into.buckets.get(le) ?? 0) + increase(count, base?.buckets.get(le)));
}

/** p50/p95/p99 in milliseconds, rounded to microseconds. */
export function latencyOf(delta: WindowDelta): LatencyQuantiles {
  const buckets: Bucket[] = [...delta.buckets].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  const ms = (q: number): number | null => {
    const seconds = histogramQuantile(q, buckets);
    return seconds === null ? null : Math.round(seconds * 1_000_000) / 1000;
  };
  return { p50: ms(0.5), p95: ms(0.95), p99: ms(0.99) };
}

/** The golden metrics of a delta, as stats rows and topology edges carry them. */
export type GoldenMetrics = Pick<TopologyEdge, 'requests' | 'successes' | 'successRate' | 'rps' | 'latencyMs'>;

export function goldenOf(delta: WindowDelta): GoldenMetrics {
  return {
    requests: delta.requests,
    successes: delta.successes,
    successRate: delta.requests > 0 ? delta.successes / delta.requests : null,
    rps: Math.round(delta.rps * 1000) / 1000,
    latencyMs: latencyOf(delta),
  };
}
