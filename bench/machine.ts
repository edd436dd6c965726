// Bench: the machine and tool versions a result was measured on, recorded with every report.
import { execFile } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import type { Tools } from './tools.js';

export interface MachineInfo {
  cpuCount: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  /** 1-minute load average when the bench started: high values mean a noisy neighbour. */
  loadAverage: number;
  pinned: boolean;
  tools: Record<string, string>;
  commit: string;
}

export async function machineInfo(tools: Tools, repoRoot: string): Promise<MachineInfo> {
  const [nginx, haproxy, wrk, commit] = await Promise.all([
    firstLine(tools.nginx, ['-v']),
    firstLine(tools.haproxy, ['-v']),
    firstLine(tools.wrk, ['-v']),
    firstLine('git', ['-C', repoRoot, 'describe', '--always', '--dirty']),
  ]);
  return {
    cpuCount: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${process.platform} ${release()}`,
    node: process.version,
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    pinned: tools.taskset !== undefined,
    tools: { nginx, haproxy, wrk },
    commit,
  };
}

/** First non-empty line a command prints on stdout or stderr (wrk -v exits non-zero, so any exit is fine). */
function firstLine(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 5_000 }, (_error, stdout, stderr) => {
      const line = `${stdout}\n${stderr}`.split('\n').find((l) => l.trim() !== '');
      resolve(line?.trim() ?? 'unknown');
    });
  });
}
