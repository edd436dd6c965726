// Bench load: runs the tcp echo load (tcp-echo-load.ts, its own Node process pinned beside the upstream) against one tcp contender and returns its result.
import { join } from 'node:path';
import { spawnProcess, stopProcess } from '../../test/support/index.js';
import type { Tools } from '../tools.js';
import type { LoadResult } from './load-result.js';

/** The line tcp-echo-load.ts prints: round trips completed within the duration and their times. */
export interface TcpLoadReport {
  /** Connections made (those that failed are socket errors). */
  connections: number;
  seconds: number;
  roundTrips: number;
  roundTripsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /** Echoes that came back different from what was sent. */
  mismatches: number;
  /** Connections that failed to connect or were lost before the end. */
  socketErrors: number;
}

export interface TcpLoadRun {
  /** tcp://host:port */
  url: string;
  connections: number;
  durationSec: number;
  messageBytes: number;
  /** Round trips/s over all connections; 0 saturates. */
  rate: number;
}

/** Runs one echo load; one that outlives its duration by 30 s is killed and the run fails. */
export async function runTcpLoad(tools: Tools, cpu: number, repoRoot: string, run: TcpLoadRun): Promise<LoadResult> {
  const { hostname, port } = new URL(run.url);
  const script = join(repoRoot, 'bench', 'load', 'tcp-echo-load.ts');
  const args = [
    '--import', 'tsx', script, '--host', hostname, '--port', port, '--connections', String(run.connections),
    '--duration', String(run.durationSec), '--bytes', String(run.messageBytes), '--rate', String(run.rate),
  ];
  const [command, fullArgs] = tools.taskset === undefined ? [process.execPath, args] : [tools.taskset, ['-c', String(cpu), process.execPath, ...args]];
  const proc = spawnProcess(command, fullArgs, { name: 'tcp echo load', cwd: repoRoot });
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<'overdue'>((resolve) => {
    timer = setTimeout(() => resolve('overdue'), (run.durationSec + 30) * 1000);
  });
  const exit = await Promise.race([proc.exited, overdue]);
  clearTimeout(timer);
  if (exit === 'overdue') {
    await stopProcess(proc, 'SIGKILL', 1_000);
    throw new Error(`the tcp echo load did not finish within ${run.durationSec + 30} s:\n${proc.output().slice(-1500)}`);
  }
  if (exit.code !== 0) throw new Error(`the tcp echo load exited with ${exit.signal ?? exit.code}:\n${proc.output().slice(-1500)}`);
  return tcpLoadResult(parseTcpLoadReport(proc.output()));
}

/** The report line among what the process printed; throws when there is none. */
export function parseTcpLoadReport(output: string): TcpLoadReport {
  const line = output.split('\n').find((l) => l.startsWith('{"connections":'));
  if (line === undefined) throw new Error(`no report from the tcp echo load:\n${output.slice(-1500)}`);
  return JSON.parse(line) as TcpLoadReport;
}

export function tcpLoadResult(report: TcpLoadReport): LoadResult {
  if (report.roundTrips === 0) throw new Error(`the tcp echo load completed no round trip (${report.mismatches} bad echoes, ${report.socketErrors} socket errors)`);
  return {
    requestsPerSec: report.roundTripsPerSec,
    requests: report.roundTrips,
    p50Ms: report.p50Ms,
    p99Ms: report.p99Ms,
    non2xx: report.mismatches,
    socketErrors: report.socketErrors,
    meanMs: report.meanMs,
    maxMs: report.maxMs,
  };
}
