// E2E support: runs the built `weft` command as real child processes, and a small HTTP client for traffic.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnProcess, type ManagedProcess, type SpawnOptions } from '../support/index.js';

export const WEFT_BIN = fileURLToPath(new URL('../../bin/weft.js', import.meta.url));
export const GREETER_APP = fileURLToPath(new URL('../../examples/greeter/server.js', import.meta.url));

export function startWeft(name: string, args: readonly string[], opts: SpawnOptions = {}): ManagedProcess {
  return spawnProcess(process.execPath, [WEFT_BIN, ...args], { name, ...opts, env: { WEFT_LOG_LEVEL: 'warn', ...opts.env } });
}

/** The admin token a non-dev `weft control` wrote to its data dir on first start (there before it answers /healthz). */
export async function adminTokenOf(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one `weft` command to completion. */
export function runWeft(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 15_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [WEFT_BIN, ...args], { env: { ...process.env, ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Writes `text` to `dir/name` and runs `weft apply -f` on it. */
export async function applyYaml(dir: string, name: string, text: string, env: Record<string, string>): Promise<CliResult> {
  const file = join(dir, name);
  await writeFile(file, text);
  return runWeft(['apply', '-f', file], env);
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class HttpClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });

  send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        { method: options.method ?? 'GET', headers: options.headers, agent: this.agent, timeout: options.timeoutMs ?? 10_000 },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('client timeout')));
      req.on('error', reject);
      req.end(options.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export async function pollUntil<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + deadlineMs;
  let lastError: unknown;
  while (Date.now() < until) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

export interface TrafficOptions {
  workers: number;
  /** Requests per worker. */
  requests: number;
  pauseMs?: number;
  /** Runs once, after this many requests completed in all. */
  at?: { count: number; action: () => void };
}

/** Bounded concurrent traffic: every reply other than 200 and every error is reported as a failure. */
export async function steadyTraffic(send: () => Promise<Reply>, options: TrafficOptions): Promise<{ failures: string[]; done: number; acted: boolean }> {
  const failures: string[] = [];
  let done = 0;
  let acted = false;
  const worker = async () => {
    for (let i = 0; i < options.requests; i++) {
      try {
        const reply = await send();
        if (reply.status !== 200) failures.push(`status ${reply.status}: ${reply.body}`);
      } catch (error) {
        failures.push(String(error));
      }
      done++;
      if (options.at && !acted && done >= options.at.count) {
        acted = true;
        options.at.action();
      }
      if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  };
  await Promise.all(Array.from({ length: options.workers }, worker));
  return { failures, done, acted };
}
