// Bench load: runs wrk (pinned beside the upstream) against one contender and returns its parsed result.
import { spawnProcess, stopProcess } from '../../test/support/index.js';
import type { Tools } from '../tools.js';
import { parseWrkOutput, type WrkResult } from './wrk-output.js';

export interface WrkRun {
  url: string;
  headers: Readonly<Record<string, string>>;
  connections: number;
  durationSec: number;
  /** Paced run: approximate fixed rate in requests/s via the paced.lua script. */
  rate?: { requestsPerSec: number; script: string };
}

/** Runs one wrk; a wrk that outlives its duration by 30 s is killed and the run fails. */
export async function runWrk(tools: Tools, cpu: number, run: WrkRun): Promise<WrkResult> {
  const args = ['-t1', `-c${run.connections}`, `-d${run.durationSec}s`, '--latency', '--timeout', '5s'];
  for (const [name, value] of Object.entries(run.headers)) args.push('-H', `${name}: ${value}`);
  if (run.rate !== undefined) args.push('-s', run.rate.script);
  args.push(run.url);
  if (run.rate !== undefined) args.push('--', String(run.rate.requestsPerSec));

  const [command, fullArgs] = tools.taskset === undefined ? [tools.wrk, args] : [tools.taskset, ['-c', String(cpu), tools.wrk, ...args]];
  const proc = spawnProcess(command, fullArgs, { name: 'wrk' });
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<'overdue'>((resolve) => {
    timer = setTimeout(() => resolve('overdue'), (run.durationSec + 30) * 1000);
  });
  const exit = await Promise.race([proc.exited, overdue]);
  clearTimeout(timer);
  if (exit === 'overdue') {
    await stopProcess(proc, 'SIGKILL', 1_000);
    throw new Error(`wrk did not finish within ${run.durationSec + 30} s:\n${proc.output().slice(-1500)}`);
  }
  if (exit.code !== 0) throw new Error(`wrk exited with ${exit.signal ?? exit.code}:\n${proc.output().slice(-1500)}`);
  return parseWrkOutput(proc.output());
}
