// Bench: what every peer (the upstream and each contender) looks like to the harness, and how it is launched.
import { spawnProcess, stopProcess, waitForHttp, type ManagedProcess, type SpawnOptions } from '../../test/support/index.js';
import type { Tools } from '../tools.js';

/** The load generator and the upstream share cpu0; the proxy under test has cpu1 to itself. */
export const LOAD_CPU = 0;
export const PROXY_CPU = 1;

export interface PeerContext {
  tools: Tools;
  /** Private temp dir for configs, pid files and logs. */
  workDir: string;
  repoRoot: string;
  /** Port of the upstream on 127.0.0.1: the static nginx (HTTP/1.1), or the tcp bench's echo server. */
  upstreamPort: number;
  /** The upstream's processes: what direct measures, since with no proxy the upstream is all that serves. */
  upstreamProcesses: readonly ManagedProcess[];
  /** The h2 bench's: the static nginx's cleartext HTTP/2 port (the same reply, the same process). */
  upstreamH2Port?: number;
}

export interface RunningPeer {
  /** URL the load goes to: http:// for wrk and h2load, tcp://host:port for the echo load. */
  url: string;
  /** Extra request headers (the weft sidecar routes by Host, or :authority). */
  headers: Readonly<Record<string, string>>;
  /** The processes, for diagnostics when a run fails. */
  processes: readonly ManagedProcess[];
  /**
   * The processes whose trees' CPU and memory are the contender's figures: those on the request path.
   * A weft control plane is left out: no request passes through it, and it idles during the runs.
   */
  measured: readonly ManagedProcess[];
  stop(): Promise<void>;
}

export interface PeerExtras {
  headers?: Readonly<Record<string, string>>;
  /** Called first by stop(), before any process is stopped. */
  onStop?: () => void;
  /** Default: every process. */
  measured?: readonly ManagedProcess[];
}

export interface Contender {
  name: string;
  /** One line on how it forwards, for the report. */
  description: string;
  start(ctx: PeerContext): Promise<RunningPeer>;
}

/**
 * Spawns a peer pinned to `cpu`. Starting it under `taskset -c` (rather than `taskset -a -p` after the
 * fact) pins every thread and every child, such as nginx's worker, from their first instruction.
 */
export function launchPinned(
  tools: Tools,
  cpu: number,
  command: string,
  args: readonly string[],
  opts: SpawnOptions = {},
): ManagedProcess {
  const name = opts.name ?? command;
  if (tools.taskset === undefined) return spawnProcess(command, args, { ...opts, name });
  return spawnProcess(tools.taskset, ['-c', String(cpu), command, ...args], { ...opts, name });
}

/** Waits until `url` answers 200, failing with the peer's output if it exits or stays silent. */
export async function awaitReady(
  proc: ManagedProcess,
  url: string,
  headers: Readonly<Record<string, string>> = {},
  deadlineMs = 20_000,
): Promise<void> {
  try {
    await waitForHttp(url, deadlineMs, { status: 200, headers, process: proc });
  } catch (error) {
    await stopProcess(proc, 'SIGKILL', 1_000);
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${proc.name} did not become ready: ${message}\n--- ${proc.name} output ---\n${proc.output().slice(-3000)}`);
  }
}

/** A RunningPeer whose stop() stops its processes in order (the proxy before what it depends on). */
export function runningPeer(url: string, processes: readonly ManagedProcess[], extras: PeerExtras = {}): RunningPeer {
  return {
    url,
    headers: extras.headers ?? {},
    processes,
    measured: extras.measured ?? processes,
    async stop() {
      extras.onStop?.();
      for (const proc of processes) await stopProcess(proc, 'SIGTERM', 5_000);
    },
  };
}
