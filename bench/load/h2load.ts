// Bench load: runs h2load (pinned beside the upstream) against one h2 contender, with a per-request log for percentiles, and returns its parsed result.
import { readFile, rm } from 'node:fs/promises';
import { spawnProcess, stopProcess } from '../../test/support/index.js';
import type { Tools } from '../tools.js';
import { h2loadResult, parseH2loadOutput, requestTimesMs } from './h2load-output.js';
import type { LoadResult } from './load-result.js';

export interface H2loadRun {
  url: string;
  /** Sent on every request; `:authority` replaces the URL's. */
  headers: Readonly<Record<string, string>>;
  connections: number;
  /** Concurrent streams per connection (h2load -m). */
  streams: number;
  durationSec: number;
  /** Paced run: requests/s of each connection (h2load --rps), measured from each request's actual start. */
  requestsPerSecPerConnection?: number;
  /** Where h2load writes its per-request log; removed once read. */
  logFile: string;
}

/** Runs one h2load; one that outlives its duration by 30 s is killed and the run fails. */
export async function runH2load(tools: Tools, cpu: number, run: H2loadRun): Promise<LoadResult> {
  const args = ['-t1', `-c${run.connections}`, `-m${run.streams}`, '-D', String(run.durationSec), `--log-file=${run.logFile}`];
  for (const [name, value] of Object.entries(run.headers)) args.push('-H', `${name}: ${value}`);
  if (run.requestsPerSecPerConnection !== undefined) args.push(`--rps=${run.requestsPerSecPerConnection}`);
  args.push(run.url);

  const [command, fullArgs] = tools.taskset === undefined ? [tools.h2load, args] : [tools.taskset, ['-c', String(cpu), tools.h2load, ...args]];
  const proc = spawnProcess(command, fullArgs, { name: 'h2load' });
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<'overdue'>((resolve) => {
    timer = setTimeout(() => resolve('overdue'), (run.durationSec + 30) * 1000);
  });
  try {
    const exit = await Promise.race([proc.exited, overdue]);
    clearTimeout(timer);
    if (exit === 'overdue') {
      await stopProcess(proc, 'SIGKILL', 1_000);
      throw new Error(`h2load did not finish within ${run.durationSec + 30} s:\n${proc.output().slice(-1500)}`);
    }
    if (exit.code !== 0) throw new Error(`h2load exited with ${exit.signal ?? exit.code}:\n${proc.output().slice(-1500)}`);
    const summary = parseH2loadOutput(proc.output());
    // h2load prints min/max/mean/sd of request time only; the percentiles come from its log of every request.
    const log = await readFile(run.logFile, 'utf8').catch(() => '');
    try {
      return h2loadResult(summary, requestTimesMs(log));
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : String(error)}:\n${proc.output().slice(-1500)}`);
    }
  } finally {
    await rm(run.logFile, { force: true });
  }
}
