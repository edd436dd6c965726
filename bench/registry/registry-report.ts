// Bench (registry): the results table (stdout and Markdown) and the saved JSON + Markdown files.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostInfo } from '../machine.js';
import type { StoreResult } from './measure-store.js';
import type { RegistryBenchOptions } from './registry-options.js';

export interface RegistryMachine extends HostInfo {
  etcd: string;
}

/** A store that did not run says why. */
export interface StoreOutcome {
  store: string;
  result?: StoreResult;
  skipped?: string;
  failed?: string;
}

export interface RegistryReport {
  startedAt: string;
  finishedAt: string;
  machine: RegistryMachine;
  parameters: Omit<RegistryBenchOptions, 'resultsDir'>;
  stores: StoreOutcome[];
  notes: string[];
}

const GOAL_P99_MS = 100;

const num = (value: number | undefined, digits: number): string =>
  value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
const mib = (bytes: number | undefined): string => num(bytes === undefined ? undefined : bytes / 2 ** 20, 0);

/** One row per store; fan-out columns are over every (write, watcher) pair of the paced phase. */
export function resultsTable(report: RegistryReport): string {
  const header = [
    'store', 'reg/s', 'reg p50 ms', 'reg p99 ms', 'fan-out p50 ms', 'p99 ms', 'max ms', 'all-seen p99 ms',
    'burst p99 ms', 'burst all-seen max ms', 'unseen', 'resets', 'reconnects', 'RSS MB', 'B/instance', 'full state',
  ];
  const rows = report.stores.map((outcome) => {
    const r = outcome.result;
    if (r === undefined) return [outcome.store, outcome.skipped !== undefined ? `not available: ${outcome.skipped}` : `FAILED: ${outcome.failed ?? '?'}`];
    const paced = r.paced.fanOut;
    const burst = r.burst?.fanOut;
    const missed = paced.pairs.p99 > GOAL_P99_MS ? ' !' : '';
    const unseen = paced.missing + (burst?.missing ?? 0);
    return [
      r.store,
      num(r.registration.requestsPerSec, 0),
      num(r.registration.latencyMs.p50, 2),
      num(r.registration.latencyMs.p99, 2),
      num(paced.pairs.p50, 1),
      `${num(paced.pairs.p99, 1)}${missed}`,
      num(paced.pairs.max, 1),
      num(paced.slowestPerWrite.p99, 1),
      num(burst?.pairs.p99, 0),
      num(burst?.slowestPerWrite.max, 0),
      String(unseen),
      String(r.paced.resets + (r.burst?.resets ?? 0)),
      String(r.paced.reconnects + (r.burst?.reconnects ?? 0)),
      mib(r.memory.rssAfterBytes),
      num(r.memory.rssBytesPerInstance, 0),
      r.fullState.outcome === 'complete' ? `${mib(r.fullState.bytes)} MB in ${num(r.fullState.ms, 0)} ms` : r.fullState.outcome,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (rows.length > 0 && r.length > 2 ? (r[i] ?? '').length : 0))));
  const line = (cells: readonly string[]): string =>
    cells.length === 2
      ? `| ${cells[0]!.padEnd(widths[0] ?? 0)} | ${cells[1]} |`
      : `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function markdownReport(report: RegistryReport): string {
  const p = report.parameters;
  const m = report.machine;
  const details = report.stores
    .filter((o) => o.result !== undefined)
    .map((o) => {
      const r = o.result!;
      const phase = (label: string, ph: StoreResult['paced']): string =>
        `  - ${label}: ${ph.writes} writes sent in ${ph.sendSeconds.toFixed(1)} s (${ph.writeErrors} errors); pairs p50/p99/max ` +
        `${num(ph.fanOut.pairs.p50, 1)}/${num(ph.fanOut.pairs.p99, 1)}/${num(ph.fanOut.pairs.max, 1)} ms; ` +
        `seen by every watcher p50/p99/max ${num(ph.fanOut.slowestPerWrite.p50, 1)}/${num(ph.fanOut.slowestPerWrite.p99, 1)}/${num(ph.fanOut.slowestPerWrite.max, 1)} ms; ` +
        `${ph.fanOut.missing} pairs unseen; ${ph.resets} resets, ${ph.reconnects} reconnects, ${ph.watchErrors} watch errors${ph.firstWatchError ? ` (first: ${ph.firstWatchError})` : ''}`;
      return [
        `- **${r.store}** — ${r.description}`,
        `  - registration: ${r.registration.requests} in ${r.registration.seconds.toFixed(1)} s, ${r.registration.errors} errors${r.registration.firstError ? ` (first: ${r.registration.firstError})` : ''}; latency p50/p99/max ${num(r.registration.latencyMs.p50, 2)}/${num(r.registration.latencyMs.p99, 2)}/${num(r.registration.latencyMs.max, 1)} ms`,
        `  - memory: RSS ${mib(r.memory.rssBeforeBytes)} → ${mib(r.memory.rssAfterBytes)} MB (${num(r.memory.rssBytesPerInstance, 0)} B/instance); heap used ${mib(r.memory.heapBeforeBytes)} → ${mib(r.memory.heapAfterBytes)} MB (${num(r.memory.heapBytesPerInstance, 0)} B/instance)${r.memory.backingRssBytes === undefined ? '' : `; etcd behind it ${mib(r.memory.backingRssBytes)} MB`}`,
        `  - full state for a newcomer: ${r.fullState.outcome}, ${mib(r.fullState.bytes)} MB in ${num(r.fullState.ms, 0)} ms${r.fullState.detail ? ` — ${r.fullState.detail}` : ''}`,
        phase('paced', r.paced),
        ...(r.burst ? [phase('burst', r.burst)] : []),
      ].join('\n');
    })
    .join('\n');
  return `# weft registry bench — ${report.startedAt}

${resultsTable(report)}

${p.instances} instances in ${p.services} services registered with ${p.concurrency} concurrent keep-alive requests; ${p.watchers} watchers over ${p.watchProcesses} processes${p.stores.includes('etcd-anchor') ? ` (etcd: ${p.etcdClients} clients per process)` : ''};
${p.writes} paced tagged writes at ${p.rate}/s, then a burst of ${p.burst} with ${p.concurrency} in flight.
Fan-out latency runs from a write's send to a watcher reading it; "all-seen" is, per write, its slowest watcher. Goal: p99 ≤ ${GOAL_P99_MS} ms (a "!" marks a miss).
"resets" and "reconnects" count full-state events and reopened streams during the write phases; "unseen" counts (write, watcher) pairs never seen.
RSS is the server's after the load (for etcd-anchor: etcd's); B/instance is its growth divided by the instances.
CPU pinning: ${m.pinned ? 'the server under test on cpu1; harness, load and watcher processes on cpu0' : 'none (taskset missing)'}.

## Per store
${details}

## Machine
${m.cpuCount} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, load average ${m.loadAverage} at start; ${m.etcd}; commit ${m.commit}.
${report.notes.length > 0 ? `\n## Notes\n${report.notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
}

/** Writes <dir>/registry-<timestamp>.json and .md and refreshes <dir>/registry-latest.md; returns the paths written. */
export async function saveRegistryReport(dir: string, report: RegistryReport): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const stamp = report.startedAt.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const json = join(dir, `registry-${stamp}.json`);
  const md = join(dir, `registry-${stamp}.md`);
  const latest = join(dir, 'registry-latest.md');
  const markdown = markdownReport(report);
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(md, markdown);
  await writeFile(latest, markdown);
  return [json, md, latest];
}
