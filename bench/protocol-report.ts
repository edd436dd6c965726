// Bench report (h2 and tcp): the results table against direct and the best peer, its Markdown with the method, and the files saved as <protocol>-<timestamp>.
import type { MachineInfo } from './machine.js';
import type { ContenderName, H2OrTcp } from './options.js';
import { writeResults } from './report.js';
import type { ContenderSummary } from './stats.js';
import { mib, num, ratio, signed, table } from './table.js';

export interface ProtocolReport {
  protocol: H2OrTcp;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  parameters: {
    rounds: number;
    duration: number;
    connections: number;
    /** h2load -m; h2 only. */
    streams?: number;
    /** Bytes per echoed message; tcp only. */
    messageBytes?: number;
    warmup: number;
    rate: number;
    pacedConnections: number;
    contenders: ContenderName[];
    loadCpu: number;
    upstreamCpu: number;
    proxyCpu: number;
  };
  /** The peer with the highest median throughput: what "vs best peer" is relative to. */
  bestPeer: string | undefined;
  /** The peers that could have been the best. */
  peers: readonly string[];
  contenders: (ContenderSummary & { vsBestPeer: number | undefined })[];
  notes: string[];
}

/** How each protocol names what its runs count, and its baseline. */
const WORDS: Readonly<Record<H2OrTcp, { rate: string; unit: string; direct: string; non2xx: string; socket: string }>> = {
  h2: { rate: 'req/s', unit: 'req', direct: 'direct-h2', non2xx: 'non-2xx', socket: 'failed streams' },
  tcp: { rate: 'rt/s', unit: 'rt', direct: 'direct-tcp', non2xx: 'bad echoes', socket: 'socket' },
};

export function baselineOf(protocol: H2OrTcp): string {
  return WORDS[protocol].direct;
}

/** The results as a Markdown table; contenders with errors carry a "!". */
export function protocolResultsTable(report: ProtocolReport): string {
  const words = WORDS[report.protocol];
  const paced = report.parameters.rate > 0;
  const header = ['contender', words.rate, 'p50 ms', 'p99 ms', 'vs direct', 'vs best peer'];
  if (paced) header.push('paced p50 ms', 'paced p99 ms', 'added p99 ms');
  header.push(`CPU µs/${words.unit}`, 'peak RSS MiB', 'errors');
  const rows = report.contenders.map((c) => {
    const flagged = c.non2xx + c.socketErrors > 0;
    const row = [flagged ? `${c.name} !` : c.name, num(c.requestsPerSec, 0), num(c.p50Ms, 2), num(c.p99Ms, 2), ratio(c.vsDirect), ratio(c.vsBestPeer)];
    if (paced) row.push(num(c.pacedP50Ms, 2), num(c.pacedP99Ms, 2), c.name === words.direct ? '–' : signed(c.addedP99Ms));
    row.push(num(c.cpuUsPerRequest, 1), mib(c.peakRssBytes));
    row.push(flagged ? `${c.non2xx} ${words.non2xx}, ${c.socketErrors} ${words.socket}` : '0');
    return row;
  });
  return table(header, rows);
}

/** One line naming the peer "vs best peer" is relative to. */
export function bestPeerLine(report: ProtocolReport): string {
  const { bestPeer, peers } = report;
  if (bestPeer === undefined) return `vs best peer: no peer${peers.length > 0 ? ` (of ${peers.join(', ')})` : ''} ran, so there is no ratio.`;
  return peers.length === 1
    ? `vs best peer: relative to ${bestPeer}, the one peer in this run.`
    : `vs best peer: relative to ${bestPeer}, the highest median ${WORDS[report.protocol].rate} of ${peers.join(', ')}.`;
}

function method(report: ProtocolReport): string {
  const p = report.parameters;
  if (report.protocol === 'h2') {
    const paced = p.rate > 0
      ? `; paced latency runs at ~${p.rate} req/s over ${p.pacedConnections} connections (h2load --rps ${+(p.rate / p.pacedConnections).toFixed(3)} per connection, up to ${p.streams ?? 0} streams each)`
      : '';
    return `Medians of ${p.rounds} interleaved rounds of ${p.duration} s, h2load -t1 -c${p.connections} -m${p.streams ?? 0} over h2c (HTTP/2 with prior knowledge), ${p.warmup} s warm-up per contender${paced}.
p50 and p99 are nearest-rank percentiles of every answered request of a run, taken from h2load's per-request log (--log-file: the time from a request's start to the end of its response); h2load itself prints only min/max/mean/sd of request time (the mean and max are in the JSON, per run).
Failed streams are counted as errors and left out of the percentiles.`;
  }
  const paced = p.rate > 0 ? `; paced latency runs at ~${p.rate} round trips/s over ${p.pacedConnections} connections, on one schedule as bench/paced.lua (latency from the actual send)` : '';
  return `Medians of ${p.rounds} interleaved rounds of ${p.duration} s of the echo load (bench/load/tcp-echo-load.ts): ${p.connections} connections, each sending ${p.messageBytes ?? 0} bytes and waiting for all of them to come back before it sends again, ${p.warmup} s warm-up per contender${paced}.
A round trip is timed from the write of a message to the arrival of its last echoed byte; p50 and p99 are nearest-rank percentiles of every round trip of a run. An echo that differs from what was sent is counted as a bad echo, a connection lost mid-run as a socket error.`;
}

export function protocolMarkdown(report: ProtocolReport): string {
  const p = report.parameters;
  const m = report.machine;
  const words = WORDS[report.protocol];
  const upstream = report.protocol === 'h2'
    ? 'upstream: nginx, 1 worker, `return 200 "hello world!\\n";` on an HTTP/1.1 port and, in the same process, on a cleartext `http2` port'
    : 'upstream: a Node echo server (bench/peers/tcp-echo-server.js), one process, every byte written back on its connection';
  return `# weft bench (${report.protocol}) — ${report.startedAt}

${protocolResultsTable(report)}

${bestPeerLine(report)}

${method(report)}
"vs direct" is ${words.rate} relative to ${words.direct}'s${p.rate > 0 ? `; "added p99" is the paced p99 minus ${words.direct}'s` : ''}.
"CPU µs/${words.unit}" is the user + system CPU time of the contender's processes (workers included; control planes not) during a throughput run over the ${report.protocol === 'h2' ? 'requests' : 'round trips'} completed, median of the rounds;
"peak RSS" the largest sum of their VmRSS sampled during any measured run. ${words.direct}'s are the upstream's own.
${p.rate > 0 ? '' : 'Paced runs were skipped (--rate 0).\n'}
CPU pinning: ${m.pinned ? `the load and the upstream on cpu${p.loadCpu}, the proxy under test alone on cpu${p.proxyCpu}` : 'none (taskset missing): figures are noisier'}.

## Contenders
${report.contenders.map((c) => `- **${c.name}**: ${c.description}`).join('\n')}
- ${upstream}

## Machine
${m.cpuCount} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, load average ${m.loadAverage} at start; commit ${m.commit}.
Tools: ${Object.values(m.tools).join('; ')}.
${report.notes.length > 0 ? `\n## Notes\n${report.notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
}

/** Writes <dir>/<protocol>-<timestamp>.json and .md and refreshes <dir>/<protocol>-latest.md; returns the paths written. */
export function saveProtocolReport(dir: string, report: ProtocolReport): Promise<string[]> {
  return writeResults(dir, `${report.protocol}-`, report.startedAt, report, protocolMarkdown(report));
}
