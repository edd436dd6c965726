// Bench stats: medians per contender over the interleaved rounds, and ratios to the baselines.
import type { WrkResult } from './load/wrk-output.js';

export interface ContenderRuns {
  name: string;
  description: string;
  throughput: WrkResult[];
  paced: WrkResult[];
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
  /** Totals over every measured run; any error flags the contender in the report. */
  non2xx: number;
  socketErrors: number;
  throughput: WrkResult[];
  paced: WrkResult[];
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
      non2xx: every.reduce((sum, r) => sum + r.non2xx, 0),
      socketErrors: every.reduce((sum, r) => sum + r.socketErrors, 0),
      throughput: runs.throughput,
      paced: runs.paced,
    };
  });
}
