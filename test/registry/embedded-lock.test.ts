// Registry: the embedded store's data-dir lock across real processes — a live holder is refused, a holder killed with -9 is taken over.
import { spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/core/index.js';
import { acquireLock, type DirLock } from '../../src/registry/backends/embedded/lock-file.js';
import { EmbeddedBackend } from '../../src/registry/index.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { spawnProcess, stopAll, type ManagedProcess } from '../support/index.js';

const holderFixture = fileURLToPath(new URL('./fixtures/lock-holder.ts', import.meta.url));

function testRuntime(): { runtime: Runtime; logs: Array<{ msg: string }> } {
  const logs: Array<{ msg: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { msg: string }) });
  return { runtime: createRuntime({ name: 'test', processMetrics: false, logger }), logs };
}

const dirs: string[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await stopAll('SIGKILL');
  for (const cleanup of cleanups.splice(0)) await cleanup();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-lock-'));
  dirs.push(dir);
  return dir;
}

/** A data dir whose socket path cannot fit a sockaddr_un. */
async function longDir(): Promise<string> {
  const dir = join(await tempDir(), 'a-data-dir-nested-deep-enough-that-its-lock-socket-path-is-longer-than-sun-path'.repeat(2));
  await mkdir(dir);
  return dir;
}

async function openStore(dir: string, runtime = testRuntime().runtime): Promise<EmbeddedBackend> {
  const store = await EmbeddedBackend.open(dir, runtime);
  cleanups.push(() => store.close());
  return store;
}

/** Starts a process that opens the store in `dir`, and resolves once it holds the lock. */
async function startHolder(dir: string, mode: 'hold' | 'return' = 'hold'): Promise<ManagedProcess> {
  const holder = spawnProcess(process.execPath, ['--import', 'tsx', holderFixture, dir, mode], { name: 'lock-holder' });
  const until = Date.now() + 20_000;
  while (!holder.output().includes('open\n')) {
    if (holder.exit() !== undefined) throw new Error(`lock holder exited early: ${holder.output()}`);
    if (Date.now() > until) throw new Error(`lock holder did not open the store in time: ${holder.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return holder;
}

/** Leaves the socket file of a listener whose process died without closing it. */
function leaveStaleSocket(path: string): Promise<void> {
  const script = "require('node:net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))";
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, path], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('error', reject);
    child.once('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`the stale-socket child exited with ${signal ?? 'no signal'}`));
    });
  });
}

/** The lock's socket files in `dir` (LOCK.<n>.sock, and private names while a starter claims). */
async function lockSockets(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((name) => /^LOCK\..*\.sock$/.test(name));
  for (const name of names) expect((await lstat(join(dir, name))).isSocket(), name).toBe(true);
  return names;
}

describe('embedded store lock across processes', () => {
  it.each([
    ['a short path', tempDir],
    ['a path too long for a Unix socket', longDir],
  ])('with %s: refuses while another process holds the dir, and takes over once it was killed with -9', async (_, makeDir) => {
    const dir = await makeDir();
    const holder = await startHolder(dir);
    await expect(EmbeddedBackend.open(dir, testRuntime().runtime)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(new RegExp(`^data dir .* is in use by process ${holder.pid} since `)),
      details: { dir, pid: holder.pid },
    });

    holder.child.kill('SIGKILL');
    await holder.exited;
    // The dead holder's socket file is still there: only a connection tells that nobody listens on it.
    expect(await lockSockets(dir)).toEqual(['LOCK.0.sock']);
    const { runtime, logs } = testRuntime();
    const store = await EmbeddedBackend.open(dir, runtime);
    expect(logs.some((l) => l.msg.includes('stale'))).toBe(true);
    expect(await lockSockets(dir)).toEqual(['LOCK.1.sock']);
    await store.close();
    expect(await lockSockets(dir)).toEqual([]);
    expect(await readdir(dir)).not.toContain('LOCK');
    // And the dir opens again after a clean close.
    await openStore(dir);
  });

  it("refuses a data dir an older version's LOCK file holds for a live process, and opens it once that process is gone", async () => {
    const dir = await tempDir();
    const older = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)'], { stdio: 'ignore' });
    cleanups.push(async () => void older.kill('SIGKILL'));
    await writeFile(join(dir, 'LOCK'), `${older.pid}\n`);
    await expect(acquireLock(dir, pino({ level: 'silent' }))).rejects.toMatchObject({ code: 'CONFLICT', details: { pid: older.pid } });
    const gone = new Promise((resolve) => older.once('exit', resolve));
    older.kill('SIGKILL');
    await gone;
    const lock = await acquireLock(dir, pino({ level: 'silent' }));
    await lock.release();
  });

  it('never keeps its process alive', async () => {
    const holder = await startHolder(await tempDir(), 'return');
    const exit = await Promise.race([holder.exited, new Promise<'alive'>((resolve) => setTimeout(() => resolve('alive'), 15_000))]);
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it('of starters racing over a stale socket, exactly one wins and the others get CONFLICT', async () => {
    const dir = await tempDir();
    for (let round = 0; round < 5; round++) {
      await leaveStaleSocket(join(dir, `LOCK.${round}.sock`));
      const logger = pino({ level: 'silent' });
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => acquireLock(dir, logger)));
      const won = results.filter((r): r is PromiseFulfilledResult<DirLock> => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'CONFLICT' });
      // The losers left nothing behind, and the winner holds the number above the dead one.
      expect(await lockSockets(dir)).toEqual([`LOCK.${round + 1}.sock`]);
      await won[0]!.value.release();
      expect(await lockSockets(dir)).toEqual([]);
    }
  });
});
