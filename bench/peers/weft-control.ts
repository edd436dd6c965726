// Bench peers: what the weft contenders share — a `weft control --dev` pinned beside the load, and the small HTTP calls made to it and to sidecars' admin ports.
import { request } from 'node:http';
import { join } from 'node:path';
import type { ManagedProcess } from '../../test/support/index.js';
import { awaitReady, launchPinned, LOAD_CPU, PROXY_CPU, type PeerContext } from './peer.js';

/** Quiet logs: a sidecar logging per request would measure its logger. */
export const WEFT_ENV: Readonly<Record<string, string>> = { WEFT_LOG_LEVEL: 'warn' };

export interface DevControl {
  proc: ManagedProcess;
  url: string;
}

/** `bin/weft.js` of a checkout. */
export const weftCli = (root: string): string => join(root, 'bin', 'weft.js');

/** A control plane in memory (authentication off), on the load's CPU: it idles during the runs, and must not take the proxy's. */
export async function startDevControl(ctx: PeerContext, cli: string, port: number | undefined): Promise<DevControl> {
  if (port === undefined) throw new Error('no free port for weft control');
  const proc = launchPinned(ctx.tools, LOAD_CPU, process.execPath, [cli, 'control', '--dev', '--listen', `127.0.0.1:${port}`], {
    name: 'weft control',
    cwd: ctx.workDir,
    env: WEFT_ENV,
  });
  const url = `http://127.0.0.1:${port}`;
  await awaitReady(proc, `${url}/healthz`);
  return { proc, url };
}

/** A `weft proxy` with `args` on the proxy's CPU: every sidecar of a contender shares that one core, as the other proxies have one. */
export function launchSidecar(ctx: PeerContext, cli: string, name: string, args: readonly string[]): ManagedProcess {
  return launchPinned(ctx.tools, PROXY_CPU, process.execPath, [cli, 'proxy', ...args], { name, cwd: ctx.workDir, env: WEFT_ENV });
}

export interface Reply {
  status: number;
  body: string;
}

/** One request without keep-alive; rejects on a socket error or after 5 s without a reply. */
export function call(method: 'GET' | 'PUT', url: string, body?: unknown): Promise<Reply> {
  const json = body === undefined ? undefined : JSON.stringify(body);
  const headers = json === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) };
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, timeout: 5_000, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no reply within 5 s`)));
    req.on('error', reject);
    req.end(json);
  });
}

/** PUT a JSON body; rejects with the reply on any status but 2xx. */
export async function put(url: string, body: unknown): Promise<void> {
  const reply = await call('PUT', url, body);
  if (reply.status < 200 || reply.status >= 300) throw new Error(`PUT ${url} -> ${reply.status} ${reply.body}`);
}
