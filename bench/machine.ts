// Bench: the machine and tool versions a result was measured on, recorded with every report.
import { execFile } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import type { BenchProtocol } from './options.js';
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

/** The host and the versions of the tools the protocol's bench ran (the tcp bench's load and echo are Node, recorded with the host). */
export async function machineInfo(tools: Tools, repoRoot: string, protocol: BenchProtocol = 'http1'): Promise<MachineInfo> {
  const versions: Readonly<Record<BenchProtocol, Readonly<Record<string, [string, string[]]>>>> = {
    http1: { nginx: [tools.nginx, ['-v']], haproxy: [tools.haproxy, ['-v']], wrk: [tools.wrk, ['-v']] },
    h2: { nginx: [tools.nginx, ['-v']], h2load: [tools.h2load, ['--version']] },
    tcp: { nginx: [tools.nginx, ['-v']], haproxy: [tools.haproxy, ['-v']] },
  };
  const named = Object.entries(versions[protocol]);
  const [host, lines] = await Promise.all([
    hostInfo(repoRoot, tools.taskset !== undefined),
    Promise.all(named.map(([, [command, args]]) => firstLine(command, args))),
  ]);
  return { ...host, tools: Object.fromEntries(named.map(([name], i) => [name, lines[i] ?? 'unknown'])) };
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
