// Bench (registry): one store's run — register N instances, read memory, open W watchers, paced writes, then a burst.
import { setTimeout as sleep } from 'node:timers/promises';
import { fanOut, type FanOutSummary } from './latency-stats.js';
import { LoadProcess } from './load-process.js';
import { residentBytes } from './process-memory.js';
import type { RegistryBenchOptions } from './registry-options.js';
import { readFullState, type FullStateRead } from './full-state-read.js';
import type { StoreUnderTest } from './stores-under-test.js';
import { taggedWriter, type TaggedWriter } from './tagged-writer.js';
import type { RegistrationResult, WatchCounters, WatchReply } from './worker-messages.js';

export interface MemoryFigures {
  rssBeforeBytes: number;
  rssAfterBytes: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  /** (RSS after - RSS before) / instances. */
  rssBytesPerInstance: number;
  heapBytesPerInstance: number;
  /** etcd's RSS after the load, when it backs a weft control plane. */
  backingRssBytes?: number;
}

export interface PhaseResult {
  writes: number;
  /** Wall time from the first write sent to the last acknowledged. */
  sendSeconds: number;
  writeErrors: number;
  fanOut: FanOutSummary;
  /** Counter increases during the phase, over all watchers. */
  reconnects: number;
  resets: number;
  watchErrors: number;
  firstWatchError?: string;
}

export interface StoreResult {
  store: string;
  description: string;
  registration: RegistrationResult;
  memory: MemoryFigures;
  fullState: FullStateRead;
  watchers: number;
  paced: PhaseResult;
  burst?: PhaseResult;
}

type Log = (line: string) => void;

const ZERO: WatchCounters = { reconnects: 0, resets: 0, errors: 0, bytes: 0, lines: 0 };

export async function measureStore(store: StoreUnderTest, options: RegistryBenchOptions, log: Log): Promise<StoreResult> {
  const rssBeforeBytes = await residentBytes(store.pid);
  const heapBeforeBytes = await store.heapUsed();

  const loader = new LoadProcess('./register-worker.ts', 'registration load');
  let registration: RegistrationResult;
  try {
    const budgetMs = 60_000 + options.instances * 5;
    registration = (await loader.request<{ result: RegistrationResult }>(
      { type: 'register', target: store.target, instances: options.instances, services: options.services, concurrency: options.concurrency },
      budgetMs,
    )).result;
  } finally {
    await loader.stop();
  }
  log(
    `${store.name}: registered ${registration.requests} in ${registration.seconds.toFixed(1)} s = ${registration.requestsPerSec.toFixed(0)}/s, ` +
      `p50 ${registration.latencyMs.p50.toFixed(2)} ms p99 ${registration.latencyMs.p99.toFixed(2)} ms, ${registration.errors} errors`,
  );
  // Every later figure is of a registry holding N instances; with some refused it would describe a smaller one.
  if (registration.errors > 0) {
    throw new Error(`${registration.errors} of ${options.instances} registrations failed; the first: ${registration.firstError ?? 'no message'}`);
  }
  await sleep(1_000);
  const rssAfterBytes = await residentBytes(store.pid);
  const heapAfterBytes = await store.heapUsed();
  const memory: MemoryFigures = {
    rssBeforeBytes,
    rssAfterBytes,
    heapBeforeBytes,
    heapAfterBytes,
    rssBytesPerInstance: (rssAfterBytes - rssBeforeBytes) / options.instances,
    heapBytesPerInstance: (heapAfterBytes - heapBeforeBytes) / options.instances,
    ...(store.backingPid === undefined ? {} : { backingRssBytes: await residentBytes(store.backingPid) }),
  };
  log(`${store.name}: RSS ${mb(rssBeforeBytes)} -> ${mb(rssAfterBytes)} MB, ${memory.rssBytesPerInstance.toFixed(0)} B/instance`);

  const fullState = await readFullState(store.target, 60_000);
  log(`${store.name}: full state ${fullState.outcome} after ${fullState.ms.toFixed(0)} ms, ${mb(fullState.bytes)} MB${fullState.detail ? ` (${fullState.detail})` : ''}`);

  const since = await store.version();
  const capacity = options.writes + options.burst;
  const workers: { proc: LoadProcess; watchers: number }[] = [];
  const writer: TaggedWriter = taggedWriter(store.target, options.instances, options.services, options.concurrency);
  try {
    for (let p = 0; p < options.watchProcesses; p++) {
      const watchers = Math.floor(options.watchers / options.watchProcesses) + (p < options.watchers % options.watchProcesses ? 1 : 0);
      if (watchers > 0) workers.push({ proc: new LoadProcess('./watch-worker.ts', `watchers ${p + 1}`), watchers });
    }
    for (const w of workers) {
      w.proc.send({ type: 'watch', target: store.target, watchers: w.watchers, capacity, ...(since === undefined ? {} : { since }), etcdClients: options.etcdClients });
    }
    for (const w of workers) await w.proc.receive<WatchReply>(120_000);
    log(`${store.name}: ${options.watchers} watchers open`);
    await sleep(1_000);
    const before = await counters(workers);

    const paced = await phase(store.name, 'paced', workers, writer, 0, options.writes, before, log, async (write) => {
      const started = performance.now();
      const sends: Promise<void>[] = [];
      for (let k = 0; k < options.writes; k++) {
        const due = started + (k * 1000) / options.rate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        sends.push(write(k));
      }
      return sends;
    });
    let burst: PhaseResult | undefined;
    if (options.burst > 0) {
      const afterPaced = await counters(workers);
      burst = await phase(store.name, 'burst', workers, writer, options.writes, capacity, afterPaced, log, async (write) => {
        let next = options.writes;
        const sends: Promise<void>[] = [];
        const lane = async (): Promise<void> => {
          while (next < capacity) {
            const send = write(next++);
            sends.push(send);
            await send.catch(() => undefined);
          }
        };
        await Promise.all(Array.from({ length: Math.min(options.concurrency, options.burst) }, lane));
        return sends;
      });
    }
    return { store: store.name, description: store.description, registration, memory, fullState, watchers: options.watchers, paced, ...(burst ? { burst } : {}) };
  } finally {
    writer.close();
    await Promise.all(workers.map((w) => w.proc.stop()));
  }
}

type Worker = { proc: LoadProcess; watchers: number };

async function phase(
  storeName: string,
  label: string,
  workers: readonly Worker[],
  writer: TaggedWriter,
  from: number,
  to: number,
  before: WatchCounters,
  log: Log,
  send: (write: (seq: number) => Promise<void>) => Promise<Promise<void>[]>,
): Promise<PhaseResult> {
  const started = performance.now();
  const sends = await send((seq) => {
    const sent = writer.write(seq);
    // Handled here so a failure waits for allSettled below instead of crashing the harness.
    sent.catch(() => undefined);
    return sent;
  });
  const settled = await Promise.allSettled(sends);
  const sendSeconds = (performance.now() - started) / 1000;
  const failed = settled.filter((s) => s.status === 'rejected');
  // Until every watcher saw every write, or long enough that a missing one is a loss, not a delay.
  const deadline = Date.now() + 15_000 + (to - from) * 20;
  for (;;) {
    let unseen = 0;
    for (const w of workers) unseen += (await w.proc.request<{ unseen: number }>({ type: 'unseen', from, to }, 30_000)).unseen;
    if (unseen <= failed.length * totalWatchers(workers) || Date.now() > deadline) break;
    await sleep(200);
  }
  const parts: { latencies: Float64Array; watchers: number }[] = [];
  const after: WatchCounters = { ...ZERO };
  for (const w of workers) {
    const reply = await w.proc.request<{ latencies: Float64Array; watchers: number; counters: WatchCounters }>({ type: 'collect', from, to }, 60_000);
    parts.push({ latencies: reply.latencies, watchers: reply.watchers });
    add(after, reply.counters);
  }
  const summary = fanOut(parts, to - from);
  const result: PhaseResult = {
    writes: to - from,
    sendSeconds,
    writeErrors: failed.length,
    fanOut: summary,
    reconnects: after.reconnects - before.reconnects,
    resets: after.resets - before.resets,
    watchErrors: after.errors - before.errors,
    ...(after.firstError === undefined ? {} : { firstWatchError: after.firstError }),
  };
  log(
    `${storeName} ${label}: ${result.writes} writes in ${sendSeconds.toFixed(1)} s; fan-out p50 ${summary.pairs.p50.toFixed(1)} ms ` +
      `p99 ${summary.pairs.p99.toFixed(1)} ms max ${summary.pairs.max.toFixed(1)} ms; all seen p99 ${summary.slowestPerWrite.p99.toFixed(1)} ms; ` +
      `${summary.missing} unseen, ${result.resets} resets, ${result.reconnects} reconnects, ${failed.length} write errors`,
  );
  return result;
}

async function counters(workers: readonly Worker[]): Promise<WatchCounters> {
  const total: WatchCounters = { ...ZERO };
  for (const w of workers) add(total, (await w.proc.request<{ counters: WatchCounters }>({ type: 'collect', from: 0, to: 0 }, 30_000)).counters);
  return total;
}

function add(into: WatchCounters, more: WatchCounters): void {
  into.reconnects += more.reconnects;
  into.resets += more.resets;
  into.errors += more.errors;
  into.bytes += more.bytes;
  into.lines += more.lines;
  if (more.firstError !== undefined) into.firstError ??= more.firstError;
}

const totalWatchers = (workers: readonly Worker[]): number => workers.reduce((sum, w) => sum + w.watchers, 0);
export const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
