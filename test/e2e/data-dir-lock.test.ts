// E2E: the built `weft control` as PID 1 of a new PID namespace (a container's view) — killed with -9 it comes back as PID 1 on the same data dir, and a second one is refused.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort, isCi, requireBinary, signalProcess, spawnProcess, stopAll, waitForHttp, type ManagedProcess } from '../support/index.js';
import { adminTokenOf, HttpClient, runWeft, WEFT_BIN } from './weft-cli.js';

/** Why `unshare --pid` cannot run here (it needs root, or a kernel and sandbox that allow it), or undefined when it can. */
function pidNamespaceUnavailable(unshare: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(unshare, ['--pid', '--fork', '--mount-proc', 'true'], { timeout: 10_000 }, (error, _stdout, stderr) =>
      resolve(error ? `\`unshare --pid --fork --mount-proc\` is not permitted here: ${stderr.trim() || error.message}` : undefined),
    );
  });
}

async function pidNamespaceTestsEnabled(): Promise<boolean> {
  const unshare = await requireBinary('unshare', { aptPackage: 'util-linux', purpose: 'running `weft control` as PID 1 in a new PID namespace' });
  if (unshare === undefined) return false;
  const reason = await pidNamespaceUnavailable(unshare);
  if (reason === undefined) return true;
  if (isCi()) throw new Error(`CI=true and ${reason}`);
  const bar = '#'.repeat(78);
  process.stderr.write(`\n${bar}\n# SKIPPING the PID 1 data-dir lock e2e test: ${reason}\n${bar}\n\n`);
  return false;
}

const enabled = await pidNamespaceTestsEnabled();

const dirs: string[] = [];
const http = new HttpClient();
afterEach(() => stopAll('SIGKILL'));
afterAll(async () => {
  http.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

interface Control {
  proc: ManagedProcess;
  url: string;
  port: number;
}

/**
 * `weft control` as PID 1 of its own PID namespace. --kill-child makes the kernel SIGKILL it when `unshare` dies,
 * so kill -9 of `unshare` is kill -9 of the control plane (and of its whole namespace).
 */
async function startAsPid1(dataDir: string): Promise<Control> {
  const port = await freePort();
  const proc = spawnProcess(
    'unshare',
    ['--pid', '--fork', '--mount-proc', '--kill-child=SIGKILL', process.execPath, WEFT_BIN, 'control', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir],
    { name: 'weft control (PID 1)', env: { WEFT_LOG_LEVEL: 'warn' } },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, 20_000, { process: proc });
  return { proc, url, port };
}

const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** Resolves once nothing accepts on `port` any more: the killed control plane and its sockets are gone. */
async function portClosed(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (!open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`port ${port} still accepts ${deadlineMs} ms after kill -9`);
}

/** A second `weft control` on the same data dir while one runs: exit 1 with the CONFLICT line, naming the holder as PID 1. */
async function expectRefused(dataDir: string): Promise<void> {
  const second = await runWeft(['control', '--listen', `127.0.0.1:${await freePort()}`, '--data-dir', dataDir], { WEFT_LOG_LEVEL: 'warn' });
  expect(second.code, second.stderr).toBe(1);
  expect(second.stderr).toMatch(/^weft: data dir .+ is in use by process 1 since \S+ \(lock .+\); stop it or use another --data-dir \[CONFLICT\]$/m);
  expect(second.stderr).toContain(dataDir);
}

describe.skipIf(!enabled)('weft control as PID 1 on one data dir (e2e)', () => {
  it('restarts as PID 1 after kill -9 and serves what was registered; a second control plane on the dir is refused with CONFLICT', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'weft-pid1-'));
    dirs.push(dataDir);

    const first = await startAsPid1(dataDir);
    const token = await adminTokenOf(dataDir);
    const registration = JSON.stringify({ service: 'locked', host: '127.0.0.1', port: 9000, ttlMs: 3_600_000 });
    const put = await http.send(`${first.url}/api/v1/instances/locked-1`, { method: 'PUT', headers: { ...auth(token), 'content-type': 'application/json' }, body: registration });
    expect(put.status, put.body).toBe(201);
    await expectRefused(dataDir);

    signalProcess(first.proc, 'SIGKILL');
    await first.proc.exited;
    await portClosed(first.port, 10_000);
    // The dead holder's socket is still in the dir; PID 1 again, the restart must not take it for its own.
    expect((await readdir(dataDir)).filter((name) => /^LOCK\.\d+\.sock$/.test(name))).toHaveLength(1);

    const again = await startAsPid1(dataDir);
    const listed = await http.send(`${again.url}/api/v1/services/locked/instances`, { headers: auth(await adminTokenOf(dataDir)) });
    expect(listed.status, listed.body).toBe(200);
    expect((JSON.parse(listed.body) as { instances: Array<{ id: string }> }).instances.map((i) => i.id)).toEqual(['locked-1']);
    await expectRefused(dataDir);
  }, 90_000);
});
