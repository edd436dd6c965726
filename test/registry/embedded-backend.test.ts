// Registry: the embedded store's log — torn tails, corruption, compaction, revision persistence, group commit and the dir lock.
import { appendFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Histogram } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/core/index.js';
import { EmbeddedBackend, LOG_FILE } from '../../src/registry/index.js';
import { createRuntime } from '../../src/telemetry/index.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

function testRuntime(): { runtime: Runtime; logs: Array<{ level: number; msg: string } & Record<string, unknown>> } {
  const logs: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) });
  return { runtime: createRuntime({ name: 'test', processMetrics: false, logger }), logs };
}

const dirs: string[] = [];
const opened: EmbeddedBackend[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-store-'));
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

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('embedded store', () => {
  it('creates a missing data dir and survives a reopen', async () => {
    const dir = join(await tempDir(), 'nested', 'data');
    const store = await open(dir);
    await store.put('k/a', bytes('1'));
    await store.put('k/b', bytes('2'));
    await store.close();
    const again = await open(dir);
    expect(await contents(again)).toEqual({ 'k/a': '1', 'k/b': '2' });
    expect(again.revision()).toBe(2);
  });

  it('never moves the revision backwards, even after deleting the newest key and compacting', async () => {
    const dir = await tempDir();
    const store = await open(dir);
    await store.put('a', bytes('1'));
    await store.put('b', bytes('2'));
    await store.delete('b');
    await store.close();
    for (let i = 0; i < 2; i++) {
      const again = await open(dir);
      expect(again.revision()).toBe(3);
      await again.close();
    }
    const last = await open(dir);
    expect(await last.put('c', bytes('3'))).toBe(4);
  });

  it('drops a torn last record (truncated mid-record) with a warning naming file and offset, keeping earlier data', async () => {
    const dir = await tempDir();
    const store = await open(dir);
    await store.put('k/a', bytes('value-a'));
    await store.put('k/b', bytes('value-b'));
    await store.close();
    const log = join(dir, LOG_FILE);
    const size = (await stat(log)).size;
    await truncate(log, size - 3);
    const { runtime, logs } = testRuntime();
    const again = await open(dir, runtime);
    expect(await contents(again)).toEqual({ 'k/a': 'value-a' });
    expect(again.revision()).toBe(1);
    const warning = logs.find((l) => l.level === 40 && String(l.msg).includes('torn'));
    expect(warning).toMatchObject({ file: log, offset: size - 31 });
    // The store keeps working and the next reopen is clean.
    await again.put('k/c', bytes('value-c'));
    await again.close();
    const { runtime: quiet, logs: quietLogs } = testRuntime();
    const third = await open(dir, quiet);
    expect(await contents(third)).toEqual({ 'k/a': 'value-a', 'k/c': 'value-c' });
    expect(quietLogs.filter((l) => l.level >= 40)).toEqual([]);
  });

  it('drops garbage appended after the last record', async () => {
    const dir = await tempDir();
    const store = await open(dir);
    await store.put('k/a', bytes('value-a'));
    await store.close();
    const log = join(dir, LOG_FILE);
    const size = (await stat(log)).size;
    const garbage = Buffer.from(Array.from({ length: 37 }, (_, i) => (i * 97 + 13) & 0xff));
    await appendFile(log, garbage);
    const { runtime, logs } = testRuntime();
    const again = await open(dir, runtime);
    expect(await contents(again)).toEqual({ 'k/a': 'value-a' });
    expect(logs.find((l) => l.level === 40)).toMatchObject({ file: log, offset: size });
  });

  it('drops a zero-filled tail (preallocated space after a crash)', async () => {
    const dir = await tempDir();
    const store = await open(dir);
    await store.put('k/a', bytes('value-a'));
    await store.close();
    await appendFile(join(dir, LOG_FILE), Buffer.alloc(4096));
    const again = await open(dir);
    expect(await contents(again)).toEqual({ 'k/a': 'value-a' });
  });

  it('refuses a corrupt record followed by good ones with STORE_CORRUPT naming file and offset', async () => {
    const dir = await tempDir();
    const store = await open(dir);
    await store.put('k/a', bytes('value-a'));
    await store.put('k/b', bytes('value-b'));
    await store.put('k/c', bytes('value-c'));
    await store.close();
    const log = join(dir, LOG_FILE);
    const buf = await readFile(log);
    const at = buf.indexOf('value-b');
    buf[at] = buf[at]! ^ 0xff;
    await writeFile(log, buf);
    // Revision record (17 bytes), then put records of 31 bytes each: k/b starts at 48.
    const error = await EmbeddedBackend.open(dir, testRuntime().runtime).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'STORE_CORRUPT', details: { file: log, offset: 48 } });
    expect(String((error as Error).message)).toContain(`${log}: corrupt record at offset 48`);
    // The failed open released its lock and left the file alone.
    expect(await readFile(log)).toEqual(buf);
    await expect(EmbeddedBackend.open(dir, testRuntime().runtime)).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
  });

  it('compacts on open: the log shrinks to the live data, values and revision preserved', async () => {
    const dir = await tempDir();
    const store = await open(dir, testRuntime().runtime, { compactMinBytes: 1 << 30 });
    for (let i = 0; i < 200; i++) await store.put(`k/${i % 5}`, bytes(`v${i}`));
    await store.delete('k/4');
    const grown = store.logBytes();
    await store.close();
    expect((await stat(join(dir, LOG_FILE))).size).toBe(grown);
    const again = await open(dir);
    expect(again.logBytes()).toBeLessThan(grown / 10);
    expect((await stat(join(dir, LOG_FILE))).size).toBe(again.logBytes());
    expect(await contents(again)).toEqual({ 'k/0': 'v195', 'k/1': 'v196', 'k/2': 'v197', 'k/3': 'v198' });
    expect(again.revision()).toBe(201);
  });

  it('compacts at run time once the log outgrows the live data, while writes continue', async () => {
    const dir = await tempDir();
    const { runtime } = testRuntime();
    const store = await open(dir, runtime, { compactMinBytes: 4096, compactRatio: 4 });
    const value = bytes('x'.repeat(100));
    for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 30 }, (_, i) => store.put(`hot/${i % 3}`, value)));
    const deadline = Date.now() + 10_000;
    const compactions = async (): Promise<number> => (await runtime.metrics.getSingleMetric('weft_store_compactions_total')!.get()).values[0]?.value ?? 0;
    while ((await compactions()) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await compactions()).toBeGreaterThanOrEqual(1);
    await store.compact();
    expect(store.logBytes()).toBeLessThan(4096);
    expect(store.revision()).toBe(300);
    await store.close();
    const again = await open(dir);
    expect(again.revision()).toBe(300);
    expect(Object.keys(await contents(again))).toEqual(['hot/0', 'hot/1', 'hot/2']);
  });

  it('group commit: concurrent puts share fsyncs', async () => {
    const dir = await tempDir();
    const { runtime } = testRuntime();
    const store = await open(dir, runtime);
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.put(`g/${i}`, bytes(String(i)))));
    const histogram = runtime.metrics.getSingleMetric('weft_store_commit_batch_records') as Histogram;
    const values = (await histogram.get()).values;
    const count = values.find((v) => v.metricName === 'weft_store_commit_batch_records_count')?.value ?? 0;
    const sum = values.find((v) => v.metricName === 'weft_store_commit_batch_records_sum')?.value ?? 0;
    expect(sum).toBe(200);
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThan(200);
    expect((await store.list('g/')).items).toHaveLength(200);
  });

  it('locks the data dir against a second opener, and a pid in the LOCK file decides nothing', async () => {
    const dir = await tempDir();
    const store = await open(dir);
    await expect(EmbeddedBackend.open(dir, testRuntime().runtime)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(dir) });
    await store.close();
    // A pid that is alive (here our own, as after a container's PID 1 restarts) is no lock once its socket is gone.
    await writeFile(join(dir, 'LOCK'), `${process.pid}\n`);
    const again = await open(dir);
    expect(again.revision()).toBe(0);
  });
});
