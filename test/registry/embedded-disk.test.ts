// Registry: the embedded store on a real full disk (a small tmpfs) and on a data dir that is or turns read-only (tmpfs, ext4 errors=remount-ro).
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { WeftError } from '../../src/core/index.js';
import { EmbeddedBackend, LOG_FILE } from '../../src/registry/index.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { mountExt4, mountTestsEnabled, mountTmpfs, type ScratchMount } from './fixtures/scratch-mounts.js';

const enabled = mountTestsEnabled('embedded store disk tests');
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const quiet = () => createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) });

const mounts: ScratchMount[] = [];
const opened: EmbeddedBackend[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close().catch(() => undefined);
  for (const mount of mounts.splice(0)) await mount.dispose();
});
async function open(dir: string): Promise<EmbeddedBackend> {
  const store = await EmbeddedBackend.open(dir, quiet());
  opened.push(store);
  return store;
}

describe.skipIf(!enabled)('embedded store on a full or read-only disk', () => {
  it('full disk: a failed batch is refused whole with STORE_FULL, nothing partial stays, reads and watches go on, and freeing space lets writes resume', async () => {
    const mount = await mountTmpfs(256 * 1024);
    mounts.push(mount);
    const dir = join(mount.dir, 'data');
    const filler = join(mount.dir, 'filler');
    const store = await open(dir);
    await writeFile(filler, Buffer.alloc(64 * 1024, 1));
    const watch = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const event of store.watch('', store.revision(), watch.signal)) seen.push(event.key);
    })();

    const acked = new Set<string>();
    let full: WeftError | undefined;
    // Rounds of 16 concurrent puts (group-commit batches) until one fails; bounded in count.
    for (let round = 0; round < 400 && full === undefined; round++) {
      const keys = Array.from({ length: 16 }, (_, i) => `inst-${round}-${i}`);
      const results = await Promise.allSettled(keys.map((key) => store.put(key, bytes(`${key}:${'v'.repeat(300)}`))));
      results.forEach((result, i) => {
        if (result.status === 'fulfilled') acked.add(keys[i]!);
        else full ??= result.reason as WeftError;
      });
    }
    expect(full, 'the disk never filled').toBeDefined();
    expect(full!.code).toBe('STORE_FULL');
    expect(full!.message).toContain(dir);
    expect(full!.message).toContain('ENOSPC');

    // Only acknowledged writes are visible, and the file is exactly the durable records (no partial tail).
    const listed = new Set((await store.list('')).items.map((i) => i.key));
    expect(listed).toEqual(acked);
    expect((await readFile(join(dir, LOG_FILE))).length).toBe(store.logBytes());

    await rm(filler);
    await store.put('after-free', bytes('ok'));
    acked.add('after-free');
    const deadline = Date.now() + 5000;
    while (!seen.includes('after-free') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toContain('after-free');
    expect(new Set(seen)).toEqual(acked);
    watch.abort();
    await watching;

    await store.close();
    const reopened = await open(dir);
    expect(new Set((await reopened.list('')).items.map((i) => i.key))).toEqual(acked);
  });

  it('read-only data dir: opening fails at once with STORE_READ_ONLY naming the dir and EROFS', async () => {
    const mount = await mountTmpfs(256 * 1024);
    mounts.push(mount);
    const dir = join(mount.dir, 'data');
    const store = await open(dir);
    await store.put('k', bytes('v'));
    await store.close();
    await mount.remountReadOnly();
    const error = await EmbeddedBackend.open(dir, quiet()).then(
      () => undefined,
      (e: unknown) => e as WeftError,
    );
    expect(error?.code).toBe('STORE_READ_ONLY');
    expect(error?.message).toContain(dir);
    expect(error?.message).toContain('EROFS');
  });

  it('a disk that turns read-only while running (ext4 errors=remount-ro): writes get STORE_READ_ONLY, reads go on', async () => {
    const mount = await mountExt4(8 * 1024 * 1024);
    mounts.push(mount);
    const dir = join(mount.dir, 'data');
    const store = await open(dir);
    await store.put('kept', bytes('1'));
    // A plain remount is refused while the log is open for writing: the kernel protects it.
    await expect(mount.remountReadOnly()).rejects.toThrow(/busy/i);
    await mount.failIntoReadOnly();
    const error = await store.put('refused', bytes('2')).then(
      () => undefined,
      (e: unknown) => e as WeftError,
    );
    expect(error?.code).toBe('STORE_READ_ONLY');
    expect(error?.message).toContain(dir);
    expect((await store.list('')).items.map((i) => i.key)).toEqual(['kept']);
    await expect(store.put('again', bytes('3'))).rejects.toMatchObject({ code: expect.stringMatching(/^STORE_(READ_ONLY|UNAVAILABLE)$/) as unknown });
  });
});
