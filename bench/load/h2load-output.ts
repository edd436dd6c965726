// Bench load: parses what h2load prints (throughput, request counts, status classes, min/max/mean/sd of request time) and its per-request log, into numbers.
import { percentile } from '../registry/latency-stats.js';
import type { LoadResult } from './load-result.js';

export interface H2loadSummary {
  requestsPerSec: number;
  succeeded: number;
  failed: number;
  errored: number;
  timedOut: number;
  /** Replies by status class. */
  status: { '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  /** "h2c" when the connections spoke HTTP/2 with prior knowledge; undefined when none was made. */
  protocol: string | undefined;
  /** h2load's own latency summary: no percentiles, only these. */
  requestTime: { minMs: number; maxMs: number; meanMs: number; sdMs: number };
}

const UNIT_MS: Readonly<Record<string, number>> = { us: 0.001, ms: 1, s: 1000 };
const TIME = String.raw`([\d.]+)(us|ms|s)`;

/** Throws naming what is missing when the text is not a complete h2load report. */
export function parseH2loadOutput(text: string): H2loadSummary {
  const finished = /^finished in [\d.]+s, ([\d.]+) req\/s/m.exec(text);
  const requests = /^requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/m.exec(text);
  const status = /^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m.exec(text);
  const time = new RegExp(`^time for request:\\s+${TIME}\\s+${TIME}\\s+${TIME}\\s+${TIME}`, 'm').exec(text);
  if (finished === null || requests === null || status === null || time === null) {
    throw new Error(`unrecognised h2load output (expected "finished in", "requests:", "status codes:" and "time for request:"):\n${text.slice(-1500)}`);
  }
  const ms = (at: number): number => Number(time[at]) * (UNIT_MS[time[at + 1] ?? 'ms'] ?? 1);
  return {
    requestsPerSec: Number(finished[1]),
    succeeded: Number(requests[1]),
    failed: Number(requests[2]),
    errored: Number(requests[3]),
    timedOut: Number(requests[4]),
    status: { '2xx': Number(status[1]), '3xx': Number(status[2]), '4xx': Number(status[3]), '5xx': Number(status[4]) },
    protocol: /^Application protocol: (\S+)/m.exec(text)?.[1],
    requestTime: { minMs: ms(1), maxMs: ms(3), meanMs: ms(5), sdMs: ms(7) },
  };
}

/**
 * The time of every answered request, in ms, from h2load's --log-file (tab-separated: start in µs since the
 * epoch, status, µs until the end of the response). Failed streams (status -1) are left out: they are errors.
 */
export function requestTimesMs(log: string): Float64Array {
  const times: number[] = [];
  for (const line of log.split('\n')) {
    const [, status, elapsedUs] = line.split('\t');
    if (status === undefined || elapsedUs === undefined || Number(status) <= 0) continue;
    const value = Number(elapsedUs);
    if (Number.isFinite(value)) times.push(value / 1000);
  }
  return Float64Array.from(times).sort();
}

/** One run's figures: throughput and counts from the summary, p50/p99 from the log's request times. */
export function h2loadResult(summary: H2loadSummary, sortedTimesMs: Float64Array): LoadResult {
  if (summary.protocol !== undefined && summary.protocol !== 'h2c') throw new Error(`h2load spoke ${summary.protocol}, not h2c`);
  if (summary.succeeded === 0 || sortedTimesMs.length === 0) throw new Error(`h2load completed no request (${summary.failed} failed, ${summary.errored} errored)`);
  const non2xx = summary.status['4xx'] + summary.status['5xx'];
  return {
    requestsPerSec: summary.requestsPerSec,
    requests: summary.succeeded,
    p50Ms: percentile(sortedTimesMs, 50),
    p99Ms: percentile(sortedTimesMs, 99),
    non2xx,
    // h2load counts a 4xx/5xx as failed too; what is left failed at the stream or connection (errored, timed out).
    socketErrors: Math.max(summary.errored, summary.failed - non2xx),
    meanMs: summary.requestTime.meanMs,
    maxMs: summary.requestTime.maxMs,
  };
}
