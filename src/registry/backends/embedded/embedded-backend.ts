// Embedded store: the durable RegistryBackend — an append-only, checksummed log in the data dir, replayed and compacted on open.
import { mkdir, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Runtime } from '../../../core/index.js';
import { checkCondition, type BackendEvent, type RegistryBackend, type Versioned, type WriteCondition } from '../../backend.js';
import { ChangeFeed } from '../change-feed.js';
import { appendBytes, installSnapshot, writeSnapshot } from './compaction.js';
import { acquireLock, type DirLock } from './lock-file.js';
import { readOrCreateStoreId } from './store-id.js';
import { LogWriter } from './log-writer.js';
import { encodeRecord } from './record-codec.js';
import { liveBytesOf, readLog, replayLog, type StoredEntry } from './replay.js';
import { StoreClosedError } from './store-errors.js';
import { StoreMetrics } from './store-metrics.js';

export const LOG_FILE = 'weft.log';
const COMPACT_FILE = 'weft.log.compact';

export interface EmbeddedBackendOptions {
  /** Compact at run time once the log exceeds this many times the live data... */
  compactRatio?: number;
  /** ...and at least this many bytes, so that small stores are not rewritten constantly. */
  compactMinBytes?: number;
}

export class EmbeddedBackend implements RegistryBackend {
  private revisionApplied: number;
  private revisionAssigned: number;
  /** Keys that exist once every queued write lands, so delete() of a just-put key is not lost. */
  /** Version of every key as of the last assigned write, queued ones included: what conditions compare against. */
  private readonly head: Map<string, number>;
  private readonly waiters: Array<{ version: number; resolve: () => void }> = [];
  private readonly feed: ChangeFeed;
  private compaction: Promise<void> | undefined;
  private closed = false;
  private readonly compactRatio: number;
  private readonly compactMinBytes: number;

  private constructor(
    readonly dir: string,
    private readonly runtime: Runtime,
    private readonly entries: Map<string, StoredEntry>,
    revision: number,
    private liveBytes: number,
    private readonly writer: LogWriter,
    private readonly metrics: StoreMetrics,
    private readonly lock: DirLock,
    options: EmbeddedBackendOptions,
    readonly storeId: string,
  ) {
    this.revisionApplied = revision;
    this.revisionAssigned = revision;
    this.head = new Map([...entries].map(([key, entry]) => [key, entry.version]));
    this.feed = new ChangeFeed(revision);
    this.compactRatio = options.compactRatio ?? 4;
    this.compactMinBytes = options.compactMinBytes ?? 1024 * 1024;
  }

  static async open(dir: string, runtime: Runtime, options: EmbeddedBackendOptions = {}): Promise<EmbeddedBackend> {
    const logger = runtime.logger;
    await mkdir(dir, { recursive: true });
    const lock = await acquireLock(dir, logger);
    try {
      const logPath = join(dir, LOG_FILE);
      const replayed = replayLog(await readLog(logPath), logPath);
      if (replayed.torn) {
        logger.warn(
          { file: logPath, offset: replayed.torn.offset, reason: replayed.torn.reason, droppedBytes: replayed.torn.droppedBytes },
          `dropping torn record at the end of ${logPath} (offset ${replayed.torn.offset}): it was never acknowledged`,
        );
        await truncate(logPath, replayed.validBytes);
      }
      const snapshot = await writeSnapshot(join(dir, COMPACT_FILE), replayed.revision, replayed.entries);
      await installSnapshot(snapshot, logPath);
      const metrics = new StoreMetrics(runtime.metrics);
      const writer = await LogWriter.open(logPath, snapshot.size, runtime.clock, metrics);
      logger.info({ dir, keys: replayed.entries.size, revision: replayed.revision, logBytes: snapshot.size }, 'embedded store opened');
      const storeId = await readOrCreateStoreId(dir);
      return new EmbeddedBackend(dir, runtime, replayed.entries, replayed.revision, liveBytesOf(replayed.entries), writer, metrics, lock, options, storeId);
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  async put(key: string, value: Uint8Array, condition?: WriteCondition): Promise<number> {
    this.assertOpen();
    checkCondition(key, this.head.get(key) ?? 0, condition);
    const version = ++this.revisionAssigned;
    const stored = new Uint8Array(value);
    const record = encodeRecord({ kind: 'put', revision: version, key, value: stored });
    this.head.set(key, version);
    await this.writer.append(record, () => {
      const previous = this.entries.get(key);
      this.liveBytes += record.length - (previous?.recordBytes ?? 0);
      this.entries.set(key, { value: stored, version, recordBytes: record.length });
      this.committed({ type: 'put', key, value: stored, version });
    });
    return version;
  }

  async delete(key: string, condition?: WriteCondition): Promise<number> {
    this.assertOpen();
    checkCondition(key, this.head.get(key) ?? 0, condition);
    if (!this.head.has(key)) {
      // Nothing to delete; answer with the revision that includes every write queued before this call.
      const current = this.revisionAssigned;
      await this.applied(current);
      return current;
    }
    const version = ++this.revisionAssigned;
    this.head.delete(key);
    await this.writer.append(encodeRecord({ kind: 'delete', revision: version, key }), () => {
      const previous = this.entries.get(key);
      this.liveBytes -= previous?.recordBytes ?? 0;
      this.entries.delete(key);
      this.committed({ type: 'delete', key, version });
    });
    return version;
  }

  async list(prefix: string): Promise<{ revision: number; items: Versioned[] }> {
    this.assertOpen();
    const items: Versioned[] = [];
    for (const [key, entry] of this.entries) if (key.startsWith(prefix)) items.push({ key, value: entry.value, version: entry.version });
    items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { revision: this.revisionApplied, items };
  }

  watch(prefix: string, fromVersion: number, signal: AbortSignal): AsyncIterable<BackendEvent> {
    this.assertOpen();
    return this.feed.watch(prefix, fromVersion, signal);
  }

  revision(): number {
    return this.revisionApplied;
  }

  /** Bytes in the log file right now (for tests and diagnostics). */
  logBytes(): number {
    return this.writer.size;
  }

  /** Compacts now (normally automatic once the log outgrows the live data); resolves when done. */
  compact(): Promise<void> {
    this.compaction ??= this.compactOnce().finally(() => (this.compaction = undefined));
    return this.compaction;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.compaction) await this.compaction.catch(() => undefined);
    await this.writer.close();
    this.feed.close();
    this.metrics.unregister();
    await this.lock.release();
  }

  private committed(event: BackendEvent): void {
    this.revisionApplied = event.version;
    this.feed.publish(event);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      if (waiter.version <= this.revisionApplied) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
    if (this.compaction === undefined && !this.closed && this.writer.size > Math.max(this.compactMinBytes, this.compactRatio * this.liveBytes)) {
      this.compact().catch((error: unknown) => this.runtime.logger.error({ err: error, dir: this.dir }, 'log compaction failed; will retry later'));
    }
  }

  private applied(version: number): Promise<void> {
    if (version <= this.revisionApplied) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ version, resolve }));
  }

  /**
   * Snapshot at a flush boundary, write it without holding up appends, then briefly stop appends to copy
   * the records written meanwhile and swap files — acknowledged writes wait only for that last step.
   */
  private async compactOnce(): Promise<void> {
    const logPath = join(this.dir, LOG_FILE);
    const tempPath = join(this.dir, COMPACT_FILE);
    const before = this.writer.size;
    const started = this.runtime.clock.now();
    const cut = await this.writer.exclusive(async (writer) => ({ revision: this.revisionApplied, entries: [...this.entries], offset: writer.size }));
    const file = await writeSnapshot(tempPath, cut.revision, cut.entries);
    let installed = false;
    try {
      await this.writer.exclusive(async (writer) => {
        if (writer.size > cut.offset) await appendBytes(file, await writer.readRange(cut.offset, writer.size));
        await installSnapshot(file, logPath);
        installed = true;
        await writer.swap(logPath, file.size);
      });
    } catch (error) {
      if (!installed) {
        await file.handle.close().catch(() => undefined);
        await rm(tempPath, { force: true });
      }
      throw error;
    }
    this.metrics.compactions.inc();
    this.runtime.logger.info({ dir: this.dir, beforeBytes: before, afterBytes: file.size, ms: Math.round(this.runtime.clock.now() - started) }, 'log compacted');
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}
