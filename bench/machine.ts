// Bench: the machine and tool versions a result was measured on, recorded with every report.
import { execFile } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import type { Tools } from './tools.js';

/** What every bench report records about the host it ran on. */
export interface HostInfo {
  cpuCount: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  /** 1-minute load average when the bench started: high values mean a noisy neighbour. */
  loadAverage: number;
  pinned: boolean;
  commit: string;
}

export interface MachineInfo extends HostInfo {
  tools: Record<string, string>;
}

export async function hostInfo(repoRoot: string, pinned: boolean): Promise<HostInfo> {
  return {
    cpuCount: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${process.platform} ${release()}`,
    node: process.version,
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    pinned,
    commit: await firstLine('git', ['-C', repoRoot, 'describe', '--always', '--dirty']),
  };
}

export async function machineInfo(tools: Tools, repoRoot: string): Promise<MachineInfo> {
  const [host, nginx, haproxy, wrk] = await Promise.all([
    hostInfo(repoRoot, tools.taskset !== undefined),
    firstLine(tools.nginx, ['-v']),
    firstLine(tools.haproxy, ['-v']),
    firstLine(tools.wrk, ['-v']),
  ]);
  return { ...host, tools: { nginx, haproxy, wrk } };
}

/** First non-empty line a command prints on stdout or stderr (wrk -v exits non-zero, so any exit is fine). */
export function firstLine(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 5_000 }, (_error, stdout, stderr) => {
      const line = `${stdout}\n${stderr}`.split('\n').find((l) => l.trim() !== '');
      resolve(line?.trim() ?? 'unknown');
    });
  });
}
