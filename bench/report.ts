// Bench report (HTTP/1.1): the results table (stdout and Markdown) and the saved JSON + Markdown files; and how any proxy bench writes its files.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MachineInfo } from './machine.js';
import type { BenchOptions } from './options.js';
import type { ContenderSummary } from './stats.js';
import { mib, num, ratio, signed, table } from './table.js';

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  /** pairRate is optional: reports saved before the pair contender have none. The other protocols' flags are theirs (protocol-report.ts). */
  parameters: Omit<BenchOptions, 'resultsDir' | 'pairRate' | 'protocol' | 'streams' | 'messageBytes'> & {
    pairRate?: number;
    threads: 1;
    wrkCpu: number;
    upstreamCpu: number;
    proxyCpu: number;
  };
  /** What each contender is, exactly. */
  contenders: ContenderSummary[];
  notes: string[];
}

/** The pair's goal at 1k req/s: Istio publishes +2.88 ms p99 for its sidecar pair there. */
export const PAIR_GOAL_ADDED_P99_MS = 1;

/** The results as a Markdown table; contenders with errors carry a "!" and a footnote. */
export function resultsTable(report: BenchReport): string {
  const p = report.parameters;
  const paced = p.rate > 0;
  const header = ['contender', 'req/s', 'p50 ms', 'p99 ms', 'vs direct', 'vs nginx'];
  if (paced) header.push(`paced p50 ms`, `paced p99 ms`, 'added p99 ms');
  header.push('CPU µs/req', 'peak RSS MiB', 'errors');
  const rows = report.contenders.map((c) => {
    const flagged = c.non2xx + c.socketErrors > 0;
    const row = [flagged ? `${c.name} !` : c.name, num(c.requestsPerSec, 0), num(c.p50Ms, 2), num(c.p99Ms, 2), ratio(c.vsDirect), ratio(c.vsNginx)];
    if (paced) row.push(num(c.pacedP50Ms, 2), num(c.pacedP99Ms, 2), c.name === 'direct' ? '–' : signed(c.addedP99Ms));
    row.push(num(c.cpuUsPerRequest, 1), mib(c.peakRssBytes));
    row.push(flagged ? `${c.non2xx} non-2xx, ${c.socketErrors} socket` : '0');
    return row;
  });
  return table(header, rows);
}

/** The paced runs at the pair's rate, against its goal; empty when none ran. */
export function pairTable(report: BenchReport): string {
  const rate = report.parameters.pairRate ?? 0;
  const ran = report.contenders.filter((c) => c.pairRateP99Ms !== undefined);
  if (rate === 0 || !ran.some((c) => c.name === 'weft-pair')) return '';
  const header = [`at ${rate} req/s`, 'p50 ms', 'p99 ms', 'added p99 ms', `goal: added p99 ≤ ${PAIR_GOAL_ADDED_P99_MS} ms`];
  const rows = ran.map((c) => {
    const added = c.pairRateAddedP99Ms;
    const verdict = c.name === 'direct' || added === undefined || Number.isNaN(added) ? '–' : added <= PAIR_GOAL_ADDED_P99_MS ? 'met' : 'missed';
    return [c.name, num(c.pairRateP50Ms, 2), num(c.pairRateP99Ms, 2), c.name === 'direct' ? '–' : signed(added), verdict];
  });
  return table(header, rows);
}

export function markdownReport(report: BenchReport): string {
  const p = report.parameters;
  const m = report.machine;
  const paced = p.rate > 0 ? `; paced latency runs at ~${p.rate} req/s with ${p.pacedConnections} connections (bench/paced.lua)` : '';
  const pair = pairTable(report);
  const pairSection = pair === '' ? '' : `
## The sidecar pair at ${p.pairRate ?? 0} req/s

${pair}

weft-pair (client sidecar → mTLS → server sidecar → upstream) and direct, paced at ${p.pairRate ?? 0} req/s with ${p.pacedConnections} connections, medians of the rounds.
The goal: at most ${PAIR_GOAL_ADDED_P99_MS} ms added p99; Istio publishes +2.88 ms p99 for its sidecar pair at 1k req/s.
`;
  return `# weft bench — ${report.startedAt}

${resultsTable(report)}

Medians of ${p.rounds} interleaved rounds of ${p.duration} s, wrk -t1 -c${p.connections}, ${p.warmup} s warm-up per contender${paced}.
req/s, p50 and p99 come from the throughput runs (the proxy saturated); "added p99" is the paced p99 minus direct's.
"CPU µs/req" is the user + system CPU time of the contender's processes (workers included; control planes not) during a throughput run over the requests wrk completed, median of the rounds;
"peak RSS" the largest sum of their VmRSS sampled during any measured run. Direct's are the upstream nginx's own.
${pairSection}${p.rate > 0 ? '' : 'Paced runs were skipped (--rate 0).\n'}
CPU pinning: ${m.pinned ? `wrk and the upstream on cpu${p.wrkCpu}, the proxy under test alone on cpu${p.proxyCpu}` : 'none (taskset missing): figures are noisier'}.

## Contenders
${report.contenders.map((c) => `- **${c.name}**: ${c.description}`).join('\n')}
- upstream: nginx, 1 worker, \`return 200 "hello world!\\n";\`

## Machine
${m.cpuCount} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, load average ${m.loadAverage} at start; commit ${m.commit}.
Tools: ${Object.values(m.tools).join('; ')}.
${report.notes.length > 0 ? `\n## Notes\n${report.notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
}

/** Writes <dir>/<timestamp>.json and .md and refreshes <dir>/latest.md; returns the paths written. */
export function saveReport(dir: string, report: BenchReport): Promise<string[]> {
  return writeResults(dir, '', report.startedAt, report, markdownReport(report));
}

/** Writes <dir>/<prefix><timestamp>.json and .md and refreshes <dir>/<prefix>latest.md; returns the paths written. */
export async function writeResults(dir: string, prefix: string, startedAt: string, report: unknown, markdown: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const stamp = startedAt.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const json = join(dir, `${prefix}${stamp}.json`);
  const md = join(dir, `${prefix}${stamp}.md`);
  const latest = join(dir, `${prefix}latest.md`);
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(md, markdown);
  await writeFile(latest, markdown);
  return [json, md, latest];
}
