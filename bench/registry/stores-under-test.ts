// Bench (registry): starting what is measured — weft control on each store, or etcd alone — pinned to its own CPU.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, requireEtcd, spawnProcess, startEtcd, stopProcess, waitForHttp, type EtcdCluster } from '../../test/support/index.js';
import { heapUsedFromMetrics } from './process-memory.js';
import type { StoreName } from './registry-options.js';
import { readAdminToken } from './weft-credentials.js';
import type { Target } from './worker-messages.js';

/** The load (harness, load processes) stays on cpu0; the system under test has cpu1. */
export const LOAD_CPU = 0;
export const SERVER_CPU = 1;

export interface StoreUnderTest {
  name: StoreName;
  description: string;
  target: Target;
  /** The process whose memory is reported: the control plane, or etcd for the anchor. */
  pid: number;
  /** etcd's pid when it sits behind a weft control plane. */
  backingPid?: number;
  /** The tail of the server's output, to explain a failure. */
  output(): string;
  /** Used V8 heap of the control plane (NaN for etcd). */
  heapUsed(): Promise<number>;
  /** The registry version to resume watches from, so that no watcher needs the whole state (weft only). */
  version(): Promise<number | undefined>;
  stop(): Promise<void>;
}

export interface StartContext {
  repoRoot: string;
  taskset: string | undefined;
}

export class NotAvailable extends Error {}

export async function startStore(name: StoreName, ctx: StartContext): Promise<StoreUnderTest> {
  if (name === 'etcd-anchor') return startEtcdAnchor(ctx);
  if (name === 'memory') return startControl(name, ctx, ['--dev'], 'weft control --dev (in memory, authentication off)');
  if (name === 'etcd') {
    if (!(await controlSupportsEtcd(ctx.repoRoot))) {
      throw new NotAvailable('`weft control --store etcd://...` is not in this build (see `weft control --help`)');
    }
    const etcd = await startPinnedEtcd(ctx);
    try {
      return await startAuthenticated(name, ctx, ['--store', `etcd://${etcd.endpoints}`], 'weft control --store etcd:// (one local etcd member, both on the server CPU), admin token', etcd);
    } catch (error) {
      await etcd.close();
      throw error;
    }
  }
  return startAuthenticated(name, ctx, [], 'weft control, embedded store (append-only log, fdatasync per group commit), admin token');
}

/**
 * A control plane with authentication on, given a fresh data dir (the embedded store, or only the admin token file
 * beside etcd): the token it writes there is then this start's, and nothing lands in the checkout's .weft/data.
 */
async function startAuthenticated(name: StoreName, ctx: StartContext, storeArgs: string[], description: string, etcd?: EtcdCluster): Promise<StoreUnderTest> {
  const dataDir = await mkdtemp(join(tmpdir(), 'weft-bench-registry-'));
  try {
    const store = await startControl(name, ctx, ['--data-dir', dataDir, ...storeArgs], description, { etcd, tokenDir: dataDir });
    return {
      ...store,
      async stop() {
        try {
          await store.stop();
        } finally {
          await rm(dataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

interface ControlExtras {
  /** The etcd behind it, closed with it. */
  etcd?: EtcdCluster | undefined;
  /** Where it writes its admin token; absent under --dev, which checks no credential. */
  tokenDir?: string;
}

async function startControl(name: StoreName, ctx: StartContext, storeArgs: string[], description: string, extras: ControlExtras = {}): Promise<StoreUnderTest> {
  const { etcd, tokenDir } = extras;
  const port = await freePort();
  const args = [join(ctx.repoRoot, 'bin', 'weft.js'), 'control', '--listen', `127.0.0.1:${port}`, '--log-level', 'warn', ...storeArgs];
  const command = ctx.taskset === undefined ? [process.execPath, ...args] : [ctx.taskset, '-c', String(SERVER_CPU), process.execPath, ...args];
  const proc = spawnProcess(command[0]!, command.slice(1), { name: `weft control (${name})` });
  const url = `http://127.0.0.1:${port}`;
  let token: string | undefined;
  try {
    await waitForHttp(`${url}/healthz`, 30_000, { process: proc });
    // Written before the control plane listens, so it is there once /healthz answers.
    if (tokenDir !== undefined) token = await readAdminToken(tokenDir);
  } catch (error) {
    await stopProcess(proc, 'SIGKILL', 1_000);
    throw error;
  }
  return {
    name,
    description,
    target: { kind: 'weft', url, ...(token === undefined ? {} : { token }) },
    pid: proc.pid,
    ...(etcd?.members[0]?.process === undefined ? {} : { backingPid: etcd.members[0].process.pid }),
    output: () => `${proc.exit() === undefined ? 'running' : `exited with ${proc.exit()?.signal ?? proc.exit()?.code}`}\n${proc.output().slice(-3000)}`,
    heapUsed: async () => heapUsedFromMetrics(await getText(`${url}/metrics`)),
    version: async () => (JSON.parse(await getText(`${url}/healthz`)) as { version: number }).version,
    async stop() {
      const exit = await stopProcess(proc, 'SIGTERM', 10_000);
      await etcd?.close();
      if (exit.signal === 'SIGKILL') throw new Error(`weft control (${name}) ignored SIGTERM for 10 s\n${proc.output().slice(-2000)}`);
    },
  };
}

async function startEtcdAnchor(ctx: StartContext): Promise<StoreUnderTest> {
  const etcd = await startPinnedEtcd(ctx);
  return {
    name: 'etcd-anchor',
    description: 'etcd itself (one member), npm etcd3 puts and prefix watches',
    target: { kind: 'etcd', endpoints: [etcd.endpoints] },
    pid: etcd.members[0]?.process?.pid ?? -1,
    output: () => etcd.members[0]?.process?.output().slice(-3000) ?? '',
    heapUsed: async () => Number.NaN,
    version: async () => undefined,
    stop: () => etcd.close(),
  };
}

async function startPinnedEtcd(ctx: StartContext): Promise<EtcdCluster> {
  const binary = await requireEtcd();
  if (binary === undefined) throw new NotAvailable('etcd is not installed (apt-get install etcd-server)');
  const etcd = await startEtcd(binary, 1);
  const pid = etcd.members[0]?.process?.pid;
  if (ctx.taskset !== undefined && pid !== undefined) await pin(ctx.taskset, pid, SERVER_CPU);
  return etcd;
}

/** Moves every thread of `pid` to `cpu` (a Go program has many). */
export function pin(taskset: string, pid: number, cpu: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(taskset, ['-a', '-c', '-p', String(cpu), String(pid)], (error) => (error === null ? resolve() : reject(error)));
  });
}

async function controlSupportsEtcd(repoRoot: string): Promise<boolean> {
  const help = await new Promise<string>((resolve) => {
    execFile(process.execPath, [join(repoRoot, 'bin', 'weft.js'), 'control', '--help'], (_error, stdout) => resolve(String(stdout)));
  });
  return /--store\b/.test(help) && /etcd/.test(help);
}

function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: 30_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(text));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no reply within 30 s`)));
    req.on('error', reject);
    req.end();
  });
}
