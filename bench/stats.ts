// Bench stats: medians per contender over the interleaved rounds (latency, CPU per request), peak RSS, ratios and added latency against the baselines, and the best peer.
import type { LoadResult } from './load/load-result.js';

/** One load run (wrk, h2load, the echo load) and what the contender's processes used meanwhile (absent where /proc could not say). */
export interface MeasuredRun extends LoadResult {
  /** user + system CPU of the contender's process trees during the run, per request (round trip) completed, in µs. */
  cpuUsPerRequest?: number;
  /** Largest sum of the contender's processes' VmRSS at one sample during the run, in bytes. */
  peakRssBytes?: number;
}

export interface ContenderRuns {
  name: string;
  description: string;
  throughput: MeasuredRun[];
  paced: MeasuredRun[];
  /** Paced runs at the pair's rate (--pair-rate): only direct and weft-pair take them. */
  pairPaced?: MeasuredRun[];
}

export interface ContenderSummary {
  name: string;
  description: string;
  /** Medians over the rounds of the throughput runs. */
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** requests/s relative to direct and to nginx-proxy (undefined when that baseline did not run). */
  vsDirect: number | undefined;
  vsNginx: number | undefined;
  /** Medians of the paced runs (undefined when they were skipped). */
  pacedRequestsPerSec: number | undefined;
  pacedP50Ms: number | undefined;
  pacedP99Ms: number | undefined;
  /** Paced p99 minus direct's paced p99: the latency the proxy adds at a rate every contender sustains. */
  addedP99Ms: number | undefined;
  /** Median over the throughput runs of CPU µs per request (for direct: the upstream's own). */
  cpuUsPerRequest: number | undefined;
  /** The largest peak RSS of any measured run (a peak, so the maximum rather than a median). */
  peakRssBytes: number | undefined;
  /** Medians of the paced runs at the pair's rate, and the p99 added to direct's at that rate. */
  pairRatePacedRequestsPerSec: number | undefined;
  pairRateP50Ms: number | undefined;
  pairRateP99Ms: number | undefined;
  pairRateAddedP99Ms: number | undefined;
  /** Totals over every measured run; any error flags the contender in the report. */
  non2xx: number;
  socketErrors: number;
  throughput: MeasuredRun[];
  paced: MeasuredRun[];
  pairPaced: MeasuredRun[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? upper) + upper) / 2;
}

function medianOf(runs: readonly LoadResult[], pick: (run: LoadResult) => number): number | undefined {
  return runs.length === 0 ? undefined : median(runs.map(pick));
}

/** The median of the figures the runs have; undefined when none has one. */
function medianKnown(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((value): value is number => value !== undefined && !Number.isNaN(value));
  return known.length === 0 ? undefined : median(known);
}

/** Which contenders the ratios and the added latency are taken against: the HTTP/1.1 bench's by default. */
export interface Baselines {
  direct: string;
  nginx?: string;
}

export function summarise(all: readonly ContenderRuns[], baselines: Baselines = { direct: 'direct', nginx: 'nginx-proxy' }): ContenderSummary[] {
  const base = all.map((runs) => ({
    runs,
    rps: medianOf(runs.throughput, (r) => r.requestsPerSec) ?? Number.NaN,
    pacedP99: medianOf(runs.paced, (r) => r.p99Ms),
    pairPaced: runs.pairPaced ?? [],
  }));
  const direct = base.find((b) => b.runs.name === baselines.direct);
  const nginx = baselines.nginx === undefined ? undefined : base.find((b) => b.runs.name === baselines.nginx);
  const directPairP99 = medianOf(direct?.pairPaced ?? [], (r) => r.p99Ms);
  return base.map(({ runs, rps, pacedP99, pairPaced }) => {
    const every = [...runs.throughput, ...runs.paced, ...pairPaced];
    const pairP99 = medianOf(pairPaced, (r) => r.p99Ms);
    const peaks = every.map((r) => r.peakRssBytes).filter((bytes): bytes is number => bytes !== undefined && !Number.isNaN(bytes));
    return {
      name: runs.name,
      description: runs.description,
      requestsPerSec: rps,
      p50Ms: medianOf(runs.throughput, (r) => r.p50Ms) ?? Number.NaN,
      p99Ms: medianOf(runs.throughput, (r) => r.p99Ms) ?? Number.NaN,
      vsDirect: direct === undefined ? undefined : rps / direct.rps,
      vsNginx: nginx === undefined ? undefined : rps / nginx.rps,
      pacedRequestsPerSec: medianOf(runs.paced, (r) => r.requestsPerSec),
      pacedP50Ms: medianOf(runs.paced, (r) => r.p50Ms),
      pacedP99Ms: pacedP99,
      addedP99Ms: pacedP99 === undefined || direct?.pacedP99 === undefined ? undefined : pacedP99 - direct.pacedP99,
      cpuUsPerRequest: medianKnown(runs.throughput.map((r) => r.cpuUsPerRequest)),
      peakRssBytes: peaks.length === 0 ? undefined : Math.max(...peaks),
      pairRatePacedRequestsPerSec: medianOf(pairPaced, (r) => r.requestsPerSec),
      pairRateP50Ms: medianOf(pairPaced, (r) => r.p50Ms),
      pairRateP99Ms: pairP99,
      pairRateAddedP99Ms: pairP99 === undefined || directPairP99 === undefined ? undefined : pairP99 - directPairP99,
      non2xx: every.reduce((sum, r) => sum + r.non2xx, 0),
      socketErrors: every.reduce((sum, r) => sum + r.socketErrors, 0),
      throughput: runs.throughput,
      paced: runs.paced,
      pairPaced,
    };
  });
}

/** Of the contenders named in `peers`, the one with the highest median throughput; undefined when none has one. */
export function bestPeer(summaries: readonly ContenderSummary[], peers: readonly string[]): ContenderSummary | undefined {
  let best: ContenderSummary | undefined;
  for (const summary of summaries) {
    if (!peers.includes(summary.name) || !Number.isFinite(summary.requestsPerSec)) continue;
    if (best === undefined || summary.requestsPerSec > best.requestsPerSec) best = summary;
  }
  return best;
}
