// E2E: the built `weft control` on its embedded store — kill -9 under hundreds of concurrent clients, a full disk, a read-only data dir.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, get, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mountTestsEnabled, mountTmpfs, type ScratchMount } from '../registry/fixtures/scratch-mounts.js';
import { freePort, signalProcess, stopAll, waitForHttp, type ManagedProcess } from '../support/index.js';
import { adminTokenOf, runWeft, startWeft } from './weft-cli.js';

const SERVICES = ['alpha', 'beta', 'gamma', 'delta'];
const mounts: ScratchMount[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await stopAll('SIGKILL');
  for (const mount of mounts.splice(0)) await mount.dispose();
});
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  body: string;
}

/** The admin token of the control plane running now (one at a time here); it stays valid across restarts on the same data dir. */
let adminToken = '';

function send(agent: Agent, url: string, method: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) };
    const req = request(url, { method, agent, timeout: 15_000, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function startControl(dataDir: string): Promise<{ proc: ManagedProcess; url: string }> {
  const port = await freePort();
  const proc = startWeft('control', ['control', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir]);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, 20_000, { process: proc });
  adminToken = await adminTokenOf(dataDir);
  return { proc, url };
}

async function instanceIds(url: string): Promise<Set<string>> {
  const agent = new Agent({ keepAlive: false });
  const ids = new Set<string>();
  for (const service of SERVICES) {
    const reply = await send(agent, `${url}/api/v1/services/${service}/instances`, 'GET');
    expect(reply.status).toBe(200);
    for (const instance of (JSON.parse(reply.body) as { instances: Array<{ id: string }> }).instances) ids.add(instance.id);
  }
  agent.destroy();
  return ids;
}

const registration = (id: string, n: number): string =>
  JSON.stringify({ service: SERVICES[n % SERVICES.length], host: '127.0.0.1', port: 1000 + (n % 60_000), ttlMs: 3_600_000, meta: { id } });

describe('weft control durability (e2e)', () => {
  it('kill -9 during 200 concurrent clients: every acknowledged registration survives and every acknowledged deregistration stays gone', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'weft-durable-'));
    dirs.push(dataDir);
    const registered = new Set<string>();
    const deregistered = new Set<string>();
    for (let round = 0; round < 3; round++) {
      const { proc, url } = await startControl(dataDir);
      // Everything acknowledged in earlier rounds came back after the restart.
      const before = await instanceIds(url);
      for (const id of registered) expect(before.has(id), `${id} lost`).toBe(true);
      for (const id of deregistered) expect(before.has(id), `${id} came back`).toBe(false);

      let acks = 0;
      let killed = false;
      const killAt = 300 + round * 100;
      const workers = Array.from({ length: 200 }, async (_, w) => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        const mine: string[] = [];
        try {
          // Bounded: at most 60 operations per client, and a client stops at its first failure (the kill).
          for (let op = 0; op < 60 && !killed; op++) {
            const n = w * 1000 + op;
            if (op % 7 === 6 && mine.length > 0) {
              const id = mine.shift()!;
              registered.delete(id);
              const reply = await send(agent, `${url}/api/v1/instances/${id}`, 'DELETE');
              if (reply.status !== 200) throw new Error(`DELETE ${id}: ${reply.status} ${reply.body}`);
              deregistered.add(id);
            } else if (op % 5 === 4 && mine.length > 0) {
              const reply = await send(agent, `${url}/api/v1/instances/${mine[0]!}/heartbeat`, 'PUT');
              if (reply.status !== 200) throw new Error(`heartbeat: ${reply.status} ${reply.body}`);
            } else {
              const id = `r${round}-c${w}-${op}`;
              const reply = await send(agent, `${url}/api/v1/instances/${id}`, 'PUT', registration(id, n));
              if (reply.status !== 201 && reply.status !== 200) throw new Error(`PUT ${id}: ${reply.status} ${reply.body}`);
              registered.add(id);
              mine.push(id);
            }
            if (++acks >= killAt && !killed) {
              killed = true;
              signalProcess(proc, 'SIGKILL');
            }
          }
        } catch (error) {
          if (!killed) throw error;
        } finally {
          agent.destroy();
        }
      });
      await Promise.all(workers);
      if (!killed) signalProcess(proc, 'SIGKILL');
      expect((await proc.exited).signal).toBe('SIGKILL');
      expect(acks).toBeGreaterThanOrEqual(killAt);
    }
    const { url } = await startControl(dataDir);
    const after = await instanceIds(url);
    for (const id of registered) expect(after.has(id), `${id} lost`).toBe(true);
    for (const id of deregistered) expect(after.has(id), `${id} came back`).toBe(false);
    expect(registered.size).toBeGreaterThan(500);
  }, 120_000);
});

const mountable = mountTestsEnabled('weft control disk-error e2e tests');

describe.skipIf(!mountable)('weft control on a full or read-only disk (e2e)', () => {
  it('full disk: 507 STORE_FULL naming the dir and ENOSPC, the process keeps serving reads and the watch, writes resume once space is freed, a restart replays cleanly', async () => {
    const mount = await mountTmpfs(256 * 1024);
    mounts.push(mount);
    const dataDir = join(mount.dir, 'data');
    const filler = join(mount.dir, 'filler');
    const { proc, url } = await startControl(dataDir);
    await writeFile(filler, Buffer.alloc(64 * 1024, 1));
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const acked = new Set<string>();
    let refusal: Reply | undefined;
    for (let round = 0; round < 300 && refusal === undefined; round++) {
      const ids = Array.from({ length: 8 }, (_, i) => `fill-${round}-${i}`);
      const replies = await Promise.all(ids.map((id, i) => send(agent, `${url}/api/v1/instances/${id}`, 'PUT', registration(id, round * 8 + i))));
      replies.forEach((reply, i) => {
        if (reply.status === 201) acked.add(ids[i]!);
        else refusal ??= reply;
      });
    }
    expect(refusal, 'the disk never filled').toBeDefined();
    expect(refusal!.status).toBe(507);
    const error = JSON.parse(refusal!.body) as { code: string; message: string };
    expect(error.code).toBe('STORE_FULL');
    expect(error.message).toContain(dataDir);
    expect(error.message).toContain('ENOSPC');

    // Still up: reads, health and the watch answer; only acknowledged registrations are visible.
    expect(proc.exit()).toBeUndefined();
    expect(await instanceIds(url)).toEqual(acked);
    expect((await send(agent, `${url}/healthz`, 'GET')).status).toBe(200);
    const firstWatchLine = await new Promise<string>((resolve, reject) => {
      const req = get(`${url}/api/v1/watch`, { headers: { authorization: `Bearer ${adminToken}` } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('\n')) {
            req.destroy();
            resolve(text.split('\n')[0]!);
          }
        });
      });
      req.setTimeout(10_000, () => req.destroy(new Error('watch timeout')));
      req.on('error', (e) => (e.message === 'socket hang up' ? undefined : reject(e)));
    });
    const reset = JSON.parse(firstWatchLine) as { type: string; instances: unknown[] };
    expect(reset.type).toBe('reset');
    expect(reset.instances.length).toBe(acked.size);

    await rm(filler);
    const after = await send(agent, `${url}/api/v1/instances/after-free`, 'PUT', registration('after-free', 1));
    expect(after.status).toBe(201);
    acked.add('after-free');
    agent.destroy();

    signalProcess(proc, 'SIGKILL');
    await proc.exited;
    const restarted = await startControl(dataDir);
    expect(await instanceIds(restarted.url)).toEqual(acked);
    expect(restarted.proc.output()).not.toMatch(/torn|corrupt/i);
  }, 60_000);

  it('read-only data dir: `weft control` exits 1 at once with one line naming the dir and the reason, no stack trace', async () => {
    const mount = await mountTmpfs(64 * 1024);
    mounts.push(mount);
    await mount.remountReadOnly();
    const dataDir = join(mount.dir, 'data');
    const port = await freePort();
    let result = await runWeft(['control', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], { WEFT_LOG_LEVEL: 'silent' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(dataDir);
    expect(result.stderr).toMatch(/read-only file system \(EROFS\).*\[STORE_READ_ONLY\]/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // The same for an existing store on a dir that has turned read-only.
    await mount.dispose();
    mounts.splice(0);
    const again = await mountTmpfs(64 * 1024);
    mounts.push(again);
    const existing = join(again.dir, 'data');
    const { proc } = await startControl(existing);
    signalProcess(proc, 'SIGKILL');
    await proc.exited;
    await again.remountReadOnly();
    result = await runWeft(['control', '--listen', `127.0.0.1:${port}`, '--data-dir', existing], { WEFT_LOG_LEVEL: 'silent' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(existing);
    expect(result.stderr).toContain('STORE_READ_ONLY');
  }, 60_000);
});
