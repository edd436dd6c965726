// CLI: `weft stat [SERVICE]` shows golden metrics per service or instance (success rate, requests/s, latency, open connections) from the control plane.
import { InvalidArgumentError, type Command } from 'commander';
import { STATS_DEFAULTS, type StatsReply } from '../../model/stats.js';
import { controlClient, controlUrlOption, type ControlUrlOptions } from '../control-url.js';
import { integerFlag, serviceFlag } from '../flag-parsers.js';
import { renderTable } from '../table.js';

export const STAT_REFRESH_MS = 2_000;

interface StatOptions extends ControlUrlOptions {
  watch?: boolean;
  json?: boolean;
  instances?: boolean;
  window?: number;
  count?: number;
}

export function registerStatCommand(program: Command): void {
  controlUrlOption(program.command('stat'))
    .description('success rate, requests/s, p50/p95/p99 latency and open connections per service, as its sidecars served it')
    .argument('[service]', 'only this service', serviceFlag)
    .option('--instances', 'one row per instance')
    .option('--window <duration>', 'the window the numbers cover: 10s, 1m... (default 10s)', windowFlag)
    .option('-w, --watch', `refresh every ${STAT_REFRESH_MS / 1000} s until Ctrl-C`)
    .option('--count <n>', 'with --watch, stop after this many refreshes', integerFlag(1, 1_000_000))
    .option('--json', 'print JSON for scripts (one document per line with --watch)')
    .action(async (service: string | undefined, options: StatOptions) => {
      const client = await controlClient(options);
      const query = { ...(service === undefined ? {} : { service }), ...(options.window === undefined ? {} : { windowSeconds: options.window }), byInstance: options.instances === true };
      const limit = options.watch ? (options.count ?? Infinity) : 1;
      let stopped = false;
      const stop = () => (stopped = true);
      process.once('SIGINT', stop);
      try {
        for (let shown = 0; shown < limit && !stopped; shown++) {
          if (shown > 0) await sleep(STAT_REFRESH_MS, () => stopped);
          if (stopped) break;
          const reply = await client.stats(query);
          if (options.json) process.stdout.write(JSON.stringify(reply, null, options.watch ? undefined : 2) + '\n');
          else process.stdout.write((options.watch && process.stdout.isTTY ? '\x1b[H\x1b[2J' : shown > 0 ? '\n' : '') + renderStats(reply));
        }
      } finally {
        process.off('SIGINT', stop);
        client.close();
      }
    });
}

/** The table: NAME [INSTANCE] SUCCESS RPS LATENCY_P50 LATENCY_P95 LATENCY_P99 TCP_CONN, then any sidecar that could not be counted. */
export function renderStats(reply: StatsReply): string {
  const byInstance = reply.by === 'instance';
  const headers = ['NAME', ...(byInstance ? ['INSTANCE'] : []), 'SUCCESS', 'RPS', 'LATENCY_P50', 'LATENCY_P95', 'LATENCY_P99', 'TCP_CONN'];
  const rows = reply.rows.map((row) => [
    row.service,
    ...(byInstance ? [row.instance ?? '-'] : []),
    row.successRate === null ? '-' : `${(row.successRate * 100).toFixed(2)}%`,
    row.rps.toFixed(1),
    latency(row.latencyMs.p50),
    latency(row.latencyMs.p95),
    latency(row.latencyMs.p99),
    String(row.tcpConnections),
  ]);
  let text = rows.length > 0 ? renderTable(headers, rows) : `no stats yet over the last ${reply.windowSeconds}s (no sidecar with an admin address sampled twice)\n`;
  for (const s of reply.skipped) text += `# ${s.service} ${s.instance} (${s.admin}) not counted: ${s.reason}\n`;
  return text;
}

function latency(ms: number | null): string {
  if (ms === null) return '-';
  return ms >= 100 ? `${Math.round(ms)}ms` : `${ms.toFixed(ms >= 10 ? 1 : 2)}ms`;
}

function windowFlag(value: string): number {
  const match = /^(\d+)(s|m)?$/.exec(value.trim());
  const seconds = match ? Number(match[1]) * (match[2] === 'm' ? 60 : 1) : NaN;
  if (!(seconds >= 1 && seconds <= STATS_DEFAULTS.maxWindowSeconds)) throw new InvalidArgumentError(`expected a duration from 1s to ${STATS_DEFAULTS.maxWindowSeconds}s such as 10s or 1m, got "${value}"`);
  return seconds;
}

/** Sleeps in short steps so that Ctrl-C ends a watch at once. */
async function sleep(ms: number, stopped: () => boolean): Promise<void> {
  for (let waited = 0; waited < ms && !stopped(); waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
}
