// Registry: the embedded store under injected write and fsync failures, and its log size under a long stream of overwrites.
import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, open as openFile, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WeftError, type Runtime } from '../../src/core/index.js';
import { EmbeddedBackend, LOG_FILE } from '../../src/registry/index.js';
import { createRuntime } from '../../src/telemetry/index.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

type LogLine = { level: number; msg: string } & Record<string, unknown>;
function testRuntime(): { runtime: Runtime; logs: LogLine[] } {
  const logs: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  return { runtime: createRuntime({ name: 'test', processMetrics: false, logger }), logs };
}

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: injected`), { code });

/** Faults the next calls of the log's file handle; each armed fault fires once. */
class Faults {
  write: { code: string; afterBytes: number } | undefined;
  sync: string | undefined;
  truncate: string | undefined;
  syncs = 0;

  readonly opener = async (path: string): Promise<FileHandle> => {
    const real = await openFile(path, 'r+');
    return new Proxy(real, {
      get: (target, prop) => {
        if (prop === 'write') return this.write === undefined ? target.write.bind(target) : this.faultyWrite(target);
        if (prop === 'datasync') {
          return async () => {
            this.syncs++;
            const code = this.sync;
            this.sync = undefined;
            if (code) throw errno(code);
            await target.datasync();
          };
        }
        if (prop === 'truncate' && this.truncate) {
          const code = this.truncate;
          return async () => {
            throw errno(code);
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  };

  /** Writes `afterBytes` of the buffer for real, then fails: a short write followed by an error, as on a disk that fills mid-batch. */
  private faultyWrite(target: FileHandle) {
    const fault = this.write!;
    this.write = undefined;
    return async (buf: Buffer, offset: number, length: number, position: number) => {
      if (fault.afterBytes > 0) {
        const n = Math.min(fault.afterBytes, length);
        await target.write(buf, offset, n, position);
        this.write = { code: fault.code, afterBytes: 0 };
        return { bytesWritten: n, buffer: buf };
      }
      throw errno(fault.code);
    };
  }
}

const dirs: string[] = [];
const opened: EmbeddedBackend[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-faults-'));
  dirs.push(dir);
  return dir;
}
async function open(dir: string, runtime = testRuntime().runtime, options = {}): Promise<EmbeddedBackend> {
  const store = await EmbeddedBackend.open(dir, runtime, options);
  opened.push(store);
  return store;
}
async function contents(store: EmbeddedBackend): Promise<Record<string, string>> {
  return Object.fromEntries((await store.list('')).items.map((i) => [i.key, text(i.value)]));
}
async function settle(writes: ReadonlyArray<Promise<number>>): Promise<{ ok: number; failed: WeftError[] }> {
  const results = await Promise.allSettled(writes);
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as WeftError] : []));
  return { ok: results.length - failed.length, failed };
}

describe('embedded store: failed writes and fsyncs', () => {
  it('an fsync error fails the whole batch, is never retried as success, and the log is cut back so later writes follow good records', async () => {
    const dir = await tempDir();
    const faults = new Faults();
    const { runtime, logs } = testRuntime();
    const store = await open(dir, runtime, { openLog: faults.opener });
    await store.put('kept', bytes('1'));
    const sizeBefore = store.logBytes();

    // The first write goes out alone; the next ones queue behind it and share one batch.
    faults.sync = 'EIO';
    const first = store.put('a', bytes('x'));
    const batch = Array.from({ length: 20 }, (_, i) => store.put(`b${i}`, bytes('y')));
    const failed = await settle([first, ...batch]);
    expect(failed.ok).toBe(0);
    for (const error of failed.failed) {
      expect(error).toBeInstanceOf(WeftError);
      expect(error.code).toBe('STORE_UNAVAILABLE');
      expect(error.message).toContain(dir);
      expect(error.message).toContain('EIO');
    }
    // Nothing of it is visible, the file holds only durable records, and no second fsync pretended otherwise.
    expect(await contents(store)).toEqual({ kept: '1' });
    expect(store.logBytes()).toBe(sizeBefore);
    expect((await stat(join(dir, LOG_FILE))).size).toBe(sizeBefore);
    expect(logs.some((l) => l.level === 50 && String(l.msg).includes('not stored'))).toBe(true);

    // The store goes on: a new write gets its own fsync and is kept.
    const version = await store.put('after', bytes('2'));
    expect(version).toBeGreaterThan(1);
    await store.close();
    const { runtime: again, logs: reopenLogs } = testRuntime();
    const reopened = await open(dir, again);
    expect(await contents(reopened)).toEqual({ kept: '1', after: '2' });
    expect(reopenLogs.some((l) => String(l.msg).includes('torn'))).toBe(false);
  });

  it('a short write then ENOSPC gets STORE_FULL, leaves no partial record, and a delete of a key put in the failed batch still sees the durable state', async () => {
    const dir = await tempDir();
    const faults = new Faults();
    const store = await open(dir, testRuntime().runtime, { openLog: faults.opener });
    await store.put('k', bytes('v1'));
    const sizeBefore = store.logBytes();
    faults.write = { code: 'ENOSPC', afterBytes: 7 };
    await expect(store.put('k', bytes('v2'))).rejects.toMatchObject({ code: 'STORE_FULL' });
    // The partial 7 bytes were written for real and then cut away.
    expect((await stat(join(dir, LOG_FILE))).size).toBe(sizeBefore);
    // Conditions compare against the durable version again, not the failed one.
    const [kept] = (await store.list('k')).items;
    await store.put('k', bytes('v3'), { ifVersion: kept!.version });
    expect(await contents(store)).toEqual({ k: 'v3' });
    await store.close();
    expect(await contents(await open(dir))).toEqual({ k: 'v3' });
  });

  it('a delete of an absent key queued behind a failed batch answers with a published revision', async () => {
    const dir = await tempDir();
    const faults = new Faults();
    const store = await open(dir, testRuntime().runtime, { openLog: faults.opener });
    await store.put('k', bytes('v'));
    faults.sync = 'EIO';
    const put = store.put('other', bytes('x'));
    const del = store.delete('absent');
    await expect(put).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(await del).toBe(store.revision());
  });

  it('when the log cannot even be cut back, the store stops taking writes (STORE_UNAVAILABLE, restart needed) but keeps serving reads', async () => {
    const dir = await tempDir();
    const faults = new Faults();
    const store = await open(dir, testRuntime().runtime, { openLog: faults.opener });
    await store.put('k', bytes('v'));
    faults.sync = 'EIO';
    faults.truncate = 'EIO';
    await expect(store.put('lost', bytes('x'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    faults.truncate = undefined;
    await expect(store.put('next', bytes('y'))).rejects.toThrow(/restart the control plane/);
    expect(await contents(store)).toEqual({ k: 'v' });
  });
});

describe('embedded store: bounded log growth', () => {
  it('keeps the log within a small multiple of the live data under a long stream of overwrites, losing nothing to concurrent compactions', async () => {
    const dir = await tempDir();
    const store = await open(dir, testRuntime().runtime, { compactRatio: 3, compactMinBytes: 8 * 1024 });
    const keys = 8;
    const latest = new Map<string, string>();
    let maxLog = 0;
    // 40 writers x 100 rounds of overwrites of the same 8 keys: bounded in count.
    await Promise.all(
      Array.from({ length: 40 }, async (_, writer) => {
        for (let round = 0; round < 100; round++) {
          const key = `key-${(writer + round) % keys}`;
          const value = `${writer}:${round}:${'p'.repeat(100)}`;
          const version = await store.put(key, bytes(value));
          const seen = latest.get(key);
          if (seen === undefined || Number(seen.split('@')[1]) < version) latest.set(key, `${value}@${version}`);
          maxLog = Math.max(maxLog, store.logBytes());
        }
      }),
    );
    const live = (await store.list('')).items.reduce((sum, item) => sum + item.key.length + item.value.length + 30, 0);
    // 4000 writes of ~150 bytes would be ~600 KB uncompacted; the log never grew past the threshold plus one burst.
    expect(maxLog).toBeLessThan(64 * 1024);
    expect(store.logBytes()).toBeLessThan(Math.max(8 * 1024, 3 * live) + 16 * 1024);
    const expected = Object.fromEntries([...latest].map(([k, v]) => [k, v.split('@')[0]!]));
    expect(await contents(store)).toEqual(expected);
    await store.close();
    const reopened = await open(dir);
    expect(await contents(reopened)).toEqual(expected);
    expect((await readFile(join(dir, LOG_FILE))).length).toBeLessThan(4 * 1024);
  });
});
