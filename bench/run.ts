// Bench: `npm run bench` — weft's sidecar (and a sidecar pair over mTLS) against direct and established proxies on loopback, over HTTP/1.1, h2c or raw TCP; interleaved rounds, medians.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopAll, type Exit } from '../test/support/index.js';
import { runLoad } from './load/run-load.js';
import { takeBenchLock } from './lock.js';
import { startUsageMeter } from './load/usage-meter.js';
import { machineInfo, type MachineInfo } from './machine.js';
import { parseBenchOptions, PEERS_OF, USAGE, type BenchOptions, type H2OrTcp } from './options.js';
import { runRegistryBench } from './registry/run-registry.js';
import { CONTENDERS, LOAD_CPU, PROXY_CPU, startUpstreamFor, type RunningPeer } from './peers/index.js';
import { baselineOf, bestPeerLine, protocolResultsTable, saveProtocolReport, type ProtocolReport } from './protocol-report.js';
import { pairTable, resultsTable, saveReport, type BenchReport } from './report.js';
import { bestPeer, summarise, type ContenderRuns, type ContenderSummary, type MeasuredRun } from './stats.js';
import { findTools, type Tools } from './tools.js';

/** Share of a paced rate a contender must reach for its paced latencies to count as taken below saturation. */
const SUSTAINED = 0.95;
/** Share of its one core below which a proxy was not what limited its throughput runs (the h2 and tcp reports say so). */
const SATURATED = 0.9;
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (line: string): boolean => process.stderr.write(`bench: ${line}\n`);

interface Entry {
  runs: ContenderRuns;
  peer: RunningPeer;
  /** Set once a run failed: the contender sits out the remaining rounds. */
  failed?: string;
}

async function main(): Promise<number> {
  if (process.argv[2] === 'registry') return runRegistryBench(process.argv.slice(3), repoRoot);
  let options: BenchOptions | 'help';
  try {
    options = parseBenchOptions(process.argv.slice(2), join(repoRoot, 'bench', 'results'));
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (options.contenders.some((name) => name.startsWith('weft')) && !existsSync(join(repoRoot, 'dist', 'cli', 'main.js'))) {
    log('dist/ is missing: run `npm run build` first (`npm run bench` does)');
    return 1;
  }
  takeBenchLock();
  const tools = await findTools(options.protocol);
  const startedAt = new Date().toISOString();
  const notes: string[] = [];
  if (tools.taskset === undefined) notes.push('taskset not found: processes were not pinned to CPUs.');
  else await pinSelf(tools, notes);
  const machine = await machineInfo(tools, repoRoot, options.protocol);
  if (machine.cpuCount < 2) notes.push(`only ${machine.cpuCount} CPU: ${options.protocol === 'http1' ? 'wrk' : 'the load'}, upstream and proxy share it.`);

  // A watchdog bounds the whole run even if a peer hangs in a way the per-run limits miss.
  const pairRuns = pairRateRuns(options) ? 2 : 0;
  const perRound = options.contenders.length * (options.duration + (options.rate > 0 ? options.duration : 0) + 35) + pairRuns * (options.duration + 35);
  const budgetSec = 180 + options.contenders.length * (options.warmup + 60) + options.rounds * perRound;
  const watchdog = setTimeout(() => void abort(`exceeded its time budget of ${budgetSec} s`, 1), budgetSec * 1000);
  watchdog.unref();

  const workDir = await mkdtemp(join(tmpdir(), 'weft-bench-'));
  cleanupDir = workDir;
  const { ctx, summary } = await startUpstreamFor(options.protocol, { tools, workDir, repoRoot });
  log(`${summary}; work dir ${workDir}`);

  const entries: Entry[] = [];
  for (const name of options.contenders) {
    const contender = CONTENDERS[name];
    log(`starting ${name}`);
    const peer = await contender.start(ctx);
    entries.push({ runs: { name, description: contender.description, throughput: [], paced: [] }, peer });
  }

  const loadSetting = { tools, cpu: LOAD_CPU, repoRoot, workDir, options };
  const perOne = options.protocol === 'tcp' ? 'rt' : 'req';
  const badReplies = options.protocol === 'tcp' ? 'bad echoes' : 'non-2xx';
  /** One load run against the entry, saturated (rate 0) or paced at `rate`, with its processes' CPU and memory measured meanwhile. */
  const measure = async (entry: Entry, label: string, durationSec: number, rate: number): Promise<MeasuredRun | undefined> => {
    if (entry.failed !== undefined || aborting) return undefined;
    try {
      const meter = await startUsageMeter(entry.peer.measured.map((proc) => proc.pid));
      const load = await runLoad(loadSetting, {
        peer: entry.peer,
        connections: rate > 0 ? options.pacedConnections : options.connections,
        durationSec,
        rate,
      }).finally(() => meter.stop());
      const usage = await meter.stop();
      const result: MeasuredRun = {
        ...load,
        ...(load.requests > 0 && !Number.isNaN(usage.cpuSeconds) ? { cpuUsPerRequest: (usage.cpuSeconds * 1e6) / load.requests } : {}),
        ...(Number.isNaN(usage.peakRssBytes) ? {} : { peakRssBytes: usage.peakRssBytes }),
      };
      const errors = result.non2xx + result.socketErrors > 0 ? `  ! ${result.non2xx} ${badReplies}, ${result.socketErrors} socket errors` : '';
      const cpu = result.cpuUsPerRequest === undefined ? '' : `  ${result.cpuUsPerRequest.toFixed(1)} CPU µs/${perOne}`;
      const rss = result.peakRssBytes === undefined ? '' : `  RSS ${(result.peakRssBytes / 1024 / 1024).toFixed(1)} MiB`;
      log(`${label} ${entry.runs.name.padEnd(13)} ${result.requestsPerSec.toFixed(0).padStart(7)} ${perOne}/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms${cpu}${rss}${errors}`);
      return result;
    } catch (error) {
      if (aborting) return undefined;
      const state = (exit: Exit | undefined): string => (exit === undefined ? 'running' : `exited with ${exit.signal ?? exit.code}`);
      const tails = entry.peer.processes.map((p) => `--- ${p.name} (${state(p.exit())}) ---\n${p.output().slice(-1500)}`);
      entry.failed = `${label}: ${error instanceof Error ? error.message : String(error)}`;
      log(`${entry.runs.name} FAILED in ${entry.failed}\n${tails.join('\n')}`);
      notes.push(`${entry.runs.name} failed in ${label} and sat out the rest; see the bench's stderr.`);
      return undefined;
    }
  };

  // The pair's goal is set at its own rate (1k req/s): direct and weft-pair take one more paced run per round at it.
  const pairEntries = pairRateRuns(options) ? entries.filter((entry) => entry.runs.name === 'direct' || entry.runs.name === 'weft-pair') : [];
  if (options.warmup > 0) for (const entry of entries) await measure(entry, 'warm-up ', options.warmup, 0);
  for (let round = 1; round <= options.rounds && !aborting; round++) {
    for (const entry of entries) {
      const result = await measure(entry, `round ${round} `, options.duration, 0);
      if (result !== undefined) entry.runs.throughput.push(result);
    }
    if (options.rate > 0) {
      for (const entry of entries) {
        const result = await measure(entry, `paced ${round} `, options.duration, options.rate);
        if (result !== undefined) entry.runs.paced.push(result);
      }
    }
    for (const entry of pairEntries) {
      const result = await measure(entry, `pair ${round}  `, options.duration, options.pairRate);
      if (result !== undefined) (entry.runs.pairPaced ??= []).push(result);
    }
  }

  if (aborting) return 130;
  const runs = entries.map((entry) => entry.runs);
  const written =
    options.protocol === 'http1'
      ? await reportHttp1(options, { startedAt, machine, notes }, runs)
      : await reportH2OrTcp(options.protocol, options, { startedAt, machine, notes }, runs);
  if (written.length > 0) log(`saved ${written.map((path) => path.slice(repoRoot.length + 1)).join(', ')}`);
  clearTimeout(watchdog);
  return entries.some((entry) => entry.failed !== undefined) ? 1 : 0;
}

interface RunFacts {
  startedAt: string;
  machine: MachineInfo;
  notes: string[];
}

/** The HTTP/1.1 bench's tables (with the pair's) on stdout, saved as <timestamp>.{json,md}; returns the files written. */
async function reportHttp1(options: BenchOptions, facts: RunFacts, runs: ContenderRuns[]): Promise<string[]> {
  const { notes } = facts;
  const report: BenchReport = {
    startedAt: facts.startedAt,
    finishedAt: new Date().toISOString(),
    machine: facts.machine,
    parameters: {
      rounds: options.rounds,
      duration: options.duration,
      connections: options.connections,
      warmup: options.warmup,
      rate: options.rate,
      pacedConnections: options.pacedConnections,
      pairRate: pairRateRuns(options) ? options.pairRate : 0,
      contenders: options.contenders,
      threads: 1,
      wrkCpu: LOAD_CPU,
      upstreamCpu: LOAD_CPU,
      proxyCpu: PROXY_CPU,
    },
    contenders: summarise(runs),
    notes,
  };
  for (const c of report.contenders) {
    // A paced run the contender could not keep up with measured it saturated: say so beside its latencies.
    for (const [rate, achieved, which] of [[options.rate, c.pacedRequestsPerSec, '--rate'], [report.parameters.pairRate ?? 0, c.pairRatePacedRequestsPerSec, '--pair-rate']] as const) {
      if (rate > 0 && achieved !== undefined && achieved < rate * SUSTAINED) {
        notes.push(`${c.name} did not sustain the paced rate (${which} ${rate}: ${achieved.toFixed(0)} req/s): those latencies were taken saturated.`);
      }
    }
  }
  process.stdout.write(`\n${resultsTable(report)}\n\n`);
  const pair = pairTable(report);
  if (pair !== '') process.stdout.write(`${pair}\n\n`);
  for (const note of notes) process.stdout.write(`note: ${note}\n`);
  return options.resultsDir === undefined ? [] : saveReport(options.resultsDir, report);
}

/** The h2 or tcp bench's table, against direct and the best peer, on stdout; saved as <protocol>-<timestamp>.{json,md}; returns the files written. */
async function reportH2OrTcp(protocol: H2OrTcp, options: BenchOptions, facts: RunFacts, runs: ContenderRuns[]): Promise<string[]> {
  const { notes } = facts;
  const summaries = summarise(runs, { direct: baselineOf(protocol) });
  const best = bestPeer(summaries, PEERS_OF[protocol]);
  const vsBest = (c: ContenderSummary): number | undefined => (best === undefined ? undefined : c.requestsPerSec / best.requestsPerSec);
  const report: ProtocolReport = {
    protocol,
    startedAt: facts.startedAt,
    finishedAt: new Date().toISOString(),
    machine: facts.machine,
    parameters: {
      rounds: options.rounds,
      duration: options.duration,
      connections: options.connections,
      ...(protocol === 'h2' ? { streams: options.streams } : { messageBytes: options.messageBytes }),
      warmup: options.warmup,
      rate: options.rate,
      pacedConnections: options.pacedConnections,
      contenders: options.contenders,
      loadCpu: LOAD_CPU,
      upstreamCpu: LOAD_CPU,
      proxyCpu: PROXY_CPU,
    },
    bestPeer: best?.name,
    peers: PEERS_OF[protocol].filter((name) => options.contenders.includes(name)),
    contenders: summaries.map((c) => ({ ...c, vsBestPeer: vsBest(c) })),
    notes,
  };
  const unit = protocol === 'tcp' ? 'round trips/s' : 'req/s';
  for (const c of report.contenders) {
    // A paced run the contender could not keep up with measured it saturated: say so beside its latencies.
    if (options.rate > 0 && c.pacedRequestsPerSec !== undefined && c.pacedRequestsPerSec < options.rate * SUSTAINED) {
      notes.push(`${c.name} did not sustain the paced rate (--rate ${options.rate}: ${c.pacedRequestsPerSec.toFixed(0)} ${unit}): those latencies were taken saturated.`);
    }
    // The load and the upstream share one core: a proxy that left its own core idle part of the time was held back by that one.
    const busy = c.cpuUsPerRequest === undefined ? undefined : (c.cpuUsPerRequest * c.requestsPerSec) / 1e6;
    if (c.name !== baselineOf(protocol) && busy !== undefined && busy < SATURATED) {
      notes.push(
        `${c.name} kept its core ${(busy * 100).toFixed(0)}% busy in the throughput runs (CPU µs × ${unit}): the load's core (load and upstream on cpu${LOAD_CPU}), not the proxy, ` +
          `set its ${unit}; its CPU µs per ${protocol === 'tcp' ? 'round trip' : 'request'} is the fairer comparison.`,
      );
    }
  }
  process.stdout.write(`\n${protocolResultsTable(report)}\n\n${bestPeerLine(report)}\n\n`);
  for (const note of notes) process.stdout.write(`note: ${note}\n`);
  return options.resultsDir === undefined ? [] : saveProtocolReport(options.resultsDir, report);
}

/** Whether the paced runs at the pair's rate happen: only with weft-pair among the contenders. */
function pairRateRuns(options: BenchOptions): boolean {
  return options.pairRate > 0 && options.contenders.includes('weft-pair');
}

/** Keeps the harness itself (heartbeats, bookkeeping) off the proxy's CPU. */
async function pinSelf(tools: Tools, notes: string[]): Promise<void> {
  const taskset = tools.taskset ?? 'taskset';
  await new Promise<void>((done) => {
    execFile(taskset, ['-a', '-c', '-p', String(LOAD_CPU), String(process.pid)], (error) => {
      if (error !== null) notes.push(`could not pin the harness to cpu${LOAD_CPU}: ${error.message.split('\n')[0] ?? ''}`);
      done();
    });
  });
}

let aborting = false;
let cleanupDir: string | undefined;
let cleaning: Promise<void> | undefined;

/** Stops every process the bench started and removes its temp dir; safe to call twice. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAll('SIGTERM', 5_000);
    if (cleanupDir !== undefined) await rm(cleanupDir, { recursive: true, force: true });
  })();
  return cleaning;
}

async function abort(why: string, code = 130): Promise<void> {
  if (aborting) return;
  aborting = true;
  log(`${why}: stopping every process`);
  await cleanup();
  process.exit(code);
}

process.once('SIGINT', () => void abort('interrupted'));
process.once('SIGTERM', () => void abort('terminated'));

main()
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  })
  .catch(async (error: unknown) => {
    log(error instanceof Error ? error.message : String(error));
    await cleanup();
    process.exit(1);
  });
