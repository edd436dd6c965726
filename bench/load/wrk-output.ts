// Bench load: parses the text wrk prints with --latency into numbers.

export interface WrkResult {
  requestsPerSec: number;
  requests: number;
  /** Latency percentiles in milliseconds. */
  p50Ms: number;
  p99Ms: number;
  /** Responses with a status outside 2xx/3xx. */
  non2xx: number;
  /** connect + read + write + timeout errors. */
  socketErrors: number;
}

const UNIT_MS: Readonly<Record<string, number>> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Throws naming what is missing when the text is not a complete wrk --latency report. */
export function parseWrkOutput(text: string): WrkResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  const total = /^\s*(\d+) requests in /m.exec(text);
  const p50 = /^\s*50%\s+([\d.]+)(us|ms|s|m|h)\s*$/m.exec(text);
  const p99 = /^\s*99%\s+([\d.]+)(us|ms|s|m|h)\s*$/m.exec(text);
  if (rps?.[1] === undefined || total?.[1] === undefined || p50 === null || p99 === null) {
    throw new Error(`unrecognised wrk output (expected Requests/sec and a --latency distribution):\n${text.slice(-1500)}`);
  }
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    requestsPerSec: Number(rps[1]),
    requests: Number(total[1]),
    p50Ms: toMs(p50),
    p99Ms: toMs(p99),
    non2xx: Number(non2xx?.[1] ?? 0),
    socketErrors: errors === null ? 0 : errors.slice(1).reduce((sum, n) => sum + Number(n), 0),
  };
}

function toMs(match: RegExpExecArray): number {
  return Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1);
}
