// Bench stats: medians per contender over the interleaved rounds (latency, CPU per request), peak RSS, and ratios to the baselines.
import type { WrkResult } from './load/wrk-output.js';

/** One wrk run and what the contender's processes used meanwhile (absent where /proc could not say). */
export interface MeasuredRun extends WrkResult {
  /** user + system CPU of the contender's process trees during the run, per request wrk completed, in µs. */
  cpuUsPerRequest?: number;
  /** Largest sum of the contender's processes' VmRSS at one sample during the run, in bytes. */
  peakRssBytes?: number;
}

export interface ContenderRuns {
  name: string;
  description: string;
  throughput: MeasuredRun[];
  paced: MeasuredRun[];
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
  /** Totals over every measured run; any error flags the contender in the report. */
  non2xx: number;
  socketErrors: number;
  throughput: MeasuredRun[];
  paced: MeasuredRun[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? upper) + upper) / 2;
}

function medianOf(runs: readonly WrkResult[], pick: (run: WrkResult) => number): number | undefined {
  return runs.length === 0 ? undefined : median(runs.map(pick));
}

/** The median of the figures the runs have; undefined when none has one. */
function medianKnown(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((value): value is number => value !== undefined && !Number.isNaN(value));
  return known.length === 0 ? undefined : median(known);
}

export function summarise(all: readonly ContenderRuns[]): ContenderSummary[] {
  const base = all.map((runs) => ({
    runs,
    rps: medianOf(runs.throughput, (r) => r.requestsPerSec) ?? Number.NaN,
    pacedP99: medianOf(runs.paced, (r) => r.p99Ms),
  }));
  const direct = base.find((b) => b.runs.name === 'direct');
  const nginx = base.find((b) => b.runs.name === 'nginx-proxy');
  return base.map(({ runs, rps, pacedP99 }) => {
    const every = [...runs.throughput, ...runs.paced];
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
      non2xx: every.reduce((sum, r) => sum + r.non2xx, 0),
      socketErrors: every.reduce((sum, r) => sum + r.socketErrors, 0),
      throughput: runs.throughput,
      paced: runs.paced,
    };
  });
}
