// Test support: child processes with captured output, HTTP readiness polling, and cleanup of leftovers.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';

/** Output kept per child for diagnostics: the tail is what explains a failure. */
const OUTPUT_LIMIT = 256 * 1024;

export interface SpawnOptions {
  /** Label used in error messages; defaults to the command. */
  name?: string;
  cwd?: string;
  /** Added to (not replacing) the parent's environment. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Start the child as the leader of its own process group and signal the whole group, so that a
   * child's own children (an app under `weft run`) stop with it. It also keeps a terminal's Ctrl-C
   * from reaching the child, so the parent decides the order of shutdown.
   */
  group?: boolean;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Settles when the child has exited (never rejects). */
  readonly exited: Promise<Exit>;
  /** The exit, once it happened. */
  exit(): Exit | undefined;
  /** Interleaved stdout and stderr so far (the last 256 KiB). */
  output(): string;
}

const live = new Set<ManagedProcess>();
const groups = new WeakSet<ManagedProcess>();

/** Spawns a child with stdout and stderr captured, registered for `stopAll()`. */
export function spawnProcess(command: string, args: readonly string[], opts: SpawnOptions = {}): ManagedProcess {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.group ?? false,
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    if (output.length > OUTPUT_LIMIT * 2) output = output.slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
    child.once('error', (error) => {
      keep(Buffer.from(`\n[spawn error] ${error.message}\n`));
      exit ??= { code: null, signal: null };
      resolve(exit);
    });
  });
  const managed: ManagedProcess = {
    name: opts.name ?? command,
    child,
    // A failed spawn (ENOENT) has no pid; its 'error' event settles `exited`.
    pid: child.pid ?? -1,
    exited,
    exit: () => exit,
    output: () => (output.length > OUTPUT_LIMIT ? output.slice(-OUTPUT_LIMIT) : output),
  };
  if (opts.group === true) groups.add(managed);
  live.add(managed);
  void exited.then(() => live.delete(managed));
  return managed;
}

/** Sends `signal` (to the whole group for `group` children). Returns false if the child is gone. */
export function signalProcess(proc: ManagedProcess, signal: NodeJS.Signals): boolean {
  if (proc.exit() !== undefined || proc.pid <= 0) return false;
  try {
    if (groups.has(proc)) process.kill(-proc.pid, signal);
    else proc.child.kill(signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Signals the child and waits for it to exit; after `graceMs` it is killed with SIGKILL.
 * Resolves with how it exited.
 */
export async function stopProcess(proc: ManagedProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<Exit> {
  signalProcess(proc, signal);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), graceMs);
  });
  const first = await Promise.race([proc.exited, late]);
  clearTimeout(timer);
  if (first !== 'late') return first;
  signalProcess(proc, 'SIGKILL');
  return proc.exited;
}

/** Stops every child still running (in parallel). Call it from `afterAll(stopAll)` in tests. */
export async function stopAll(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
  await Promise.all([...live].map((proc) => stopProcess(proc, signal, graceMs)));
}

/** The children still running, for diagnostics. */
export function liveProcesses(): readonly ManagedProcess[] {
  return [...live];
}

// Last resort: a parent that exits (or is stopped by an uncaught error) takes its children along.
process.on('exit', () => {
  for (const proc of live) signalProcess(proc, 'SIGKILL');
});

export interface WaitForHttpOptions {
  /** Accept this status; default: any 2xx. */
  status?: number;
  headers?: Readonly<Record<string, string>>;
  /** Pause between attempts; default 50 ms. */
  intervalMs?: number;
  /** Fail fast (with its output) if this child exits while we wait. */
  process?: ManagedProcess;
}

/**
 * Polls `url` with GET until it answers with the expected status, or throws once `deadlineMs`
 * milliseconds have passed, naming the last failure.
 */
export async function waitForHttp(url: string, deadlineMs: number, opts: WaitForHttpOptions = {}): Promise<void> {
  const until = Date.now() + deadlineMs;
  const interval = opts.intervalMs ?? 50;
  let last = 'no attempt';
  for (;;) {
    const exit = opts.process?.exit();
    if (exit !== undefined && opts.process !== undefined) {
      throw new Error(
        `${opts.process.name} exited (${exit.signal ?? exit.code}) while waiting for ${url}\n${opts.process.output().slice(-4000)}`,
      );
    }
    const remaining = until - Date.now();
    try {
      const status = await getStatus(url, opts.headers ?? {}, Math.max(100, Math.min(remaining, 2_000)));
      const ok = opts.status === undefined ? status >= 200 && status < 300 : status === opts.status;
      if (ok) return;
      last = `status ${status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() + interval >= until) break;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  throw new Error(`${url} not ready within ${deadlineMs} ms (last: ${last})`);
}

function getStatus(url: string, headers: Readonly<Record<string, string>>, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no reply within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
