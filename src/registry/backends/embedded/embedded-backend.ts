// Embedded store: the durable RegistryBackend — an append-only, checksummed log in the data dir, replayed and compacted on open.
import { mkdir, open, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Runtime, WeftError } from '../../../core/index.js';
import { checkCondition, type BackendEvent, type RegistryBackend, type Versioned, type WriteCondition } from '../../backend.js';
import { ChangeFeed } from '../change-feed.js';
import { appendBytes, installSnapshot, writeSnapshot } from './compaction.js';
import { acquireLock, type DirLock } from './lock-file.js';
import { readOrCreateStoreId } from './store-id.js';
import { LogWriter, openLogFile, type LogOpener } from './log-writer.js';
import { encodeRecord } from './record-codec.js';
import { liveBytesOf, readLog, replayLog, type StoredEntry } from './replay.js';
import { StoreClosedError, StoreFullError, storeIoError } from './store-errors.js';
import { StoreMetrics } from './store-metrics.js';

export const LOG_FILE = 'weft.log';
const COMPACT_FILE = 'weft.log.compact';

export interface EmbeddedBackendOptions {
  /** Compact at run time once the log exceeds this many times the live data... */
  compactRatio?: number;
  /** ...and at least this many bytes, so that small stores are not rewritten constantly. */
  compactMinBytes?: number;
  /** Opens the log file for appending (default: fs open 'r+'); lets tests inject write and fsync failures. */
  openLog?: LogOpener;
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
  /** After a failed compaction (a full disk), wait for the log to grow this far before trying again. */
  private compactRetryBytes = 0;

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

  /** Opens (creating when missing) the store in `dir`; file-system failures become STORE_FULL / STORE_READ_ONLY / STORE_UNAVAILABLE naming the dir. */
  static async open(dir: string, runtime: Runtime, options: EmbeddedBackendOptions = {}): Promise<EmbeddedBackend> {
    const logger = runtime.logger;
    const step = async <T>(action: string, work: () => Promise<T>): Promise<T> => {
      try {
        return await work();
      } catch (error) {
        throw storeIoError(dir, action, error);
      }
    };
    await step('creating the data dir', () => makeDataDir(dir));
    const lock = await step('taking the lock file', () => acquireLock(dir, logger));
    const metrics = new StoreMetrics(runtime.metrics);
    try {
      const logPath = join(dir, LOG_FILE);
      const replayed = replayLog(await step('reading the log', () => readLog(logPath)), logPath);
      if (replayed.torn) {
        logger.warn(
          { file: logPath, offset: replayed.torn.offset, reason: replayed.torn.reason, droppedBytes: replayed.torn.droppedBytes },
          `dropping torn record at the end of ${logPath} (offset ${replayed.torn.offset}): it was never acknowledged`,
        );
        await step('dropping the torn tail of the log', () => truncate(logPath, replayed.validBytes));
      }
      const logBytes = await step('compacting the log', () => compactOnOpen(dir, logPath, replayed.revision, replayed.entries, replayed.validBytes, logger));
      const storeId = await step('writing the store id', () => readOrCreateStoreId(dir));
      // The writer exists before the backend it reports to.
      const owner: { backend?: EmbeddedBackend } = {};
      const writer = await step('opening the log', () =>
        LogWriter.open(logPath, logBytes, runtime.clock, metrics, (error, stopped) => owner.backend?.failedBatch(error, stopped), options.openLog ?? openLogFile),
      );
      logger.info({ dir, keys: replayed.entries.size, revision: replayed.revision, logBytes }, 'embedded store opened');
      owner.backend = new EmbeddedBackend(dir, runtime, replayed.entries, replayed.revision, liveBytesOf(replayed.entries), writer, metrics, lock, options, storeId);
      return owner.backend;
    } catch (error) {
      metrics.unregister();
      await lock.release().catch(() => undefined);
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
      // Writes queued before this call may have failed: their revisions are never published.
      return Math.min(current, this.revisionApplied);
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

  async get(key: string): Promise<Versioned | undefined> {
    this.assertOpen();
    const entry = this.entries.get(key);
    return entry === undefined ? undefined : { key, value: entry.value, version: entry.version };
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
    const threshold = Math.max(this.compactMinBytes, this.compactRatio * this.liveBytes, this.compactRetryBytes);
    if (this.compaction === undefined && !this.closed && this.writer.size > threshold) {
      this.compact().catch((error: unknown) => {
        this.compactRetryBytes = this.writer.size + Math.max(this.compactMinBytes, this.liveBytes);
        this.runtime.logger.error({ err: error, dir: this.dir, retryAtBytes: this.compactRetryBytes }, 'log compaction failed; the log stays as it is and compaction is retried once it grows');
      });
    }
  }

  /** Every write that was queued has failed, so the durable state is the whole truth again. */
  private failedBatch(error: WeftError, stopped: boolean): void {
    this.head.clear();
    for (const [key, entry] of this.entries) this.head.set(key, entry.version);
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
    const log = { err: error, code: error.code, dir: this.dir };
    if (stopped) this.runtime.logger.error(log, 'the embedded store stopped taking writes: restart the control plane to replay its log');
    else this.runtime.logger.error(log, 'a batch of writes failed and was not stored; later writes are tried again');
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
    try {
      await this.compactInto(logPath, tempPath, before, started);
    } catch (error) {
      throw storeIoError(this.dir, 'compacting the log', error);
    }
  }

  private async compactInto(logPath: string, tempPath: string, before: number, started: number): Promise<void> {
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
    this.compactRetryBytes = 0;
    this.metrics.compactions.inc();
    this.runtime.logger.info({ dir: this.dir, beforeBytes: before, afterBytes: file.size, ms: Math.round(this.runtime.clock.now() - started) }, 'log compacted');
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}

/**
 * Rewrites the replayed state into a fresh log and returns its size. On a full disk the old log is kept as it
 * is (it is valid, only longer), so a control plane can still start and serve while the operator frees space.
 */
async function compactOnOpen(
  dir: string,
  logPath: string,
  revision: number,
  entries: Map<string, StoredEntry>,
  validBytes: number,
  logger: Runtime['logger'],
): Promise<number> {
  const tempPath = join(dir, COMPACT_FILE);
  try {
    const snapshot = await writeSnapshot(tempPath, revision, entries);
    await installSnapshot(snapshot, logPath);
    return snapshot.size;
  } catch (error) {
    const typed = storeIoError(dir, 'compacting the log on start', error);
    if (!(typed instanceof StoreFullError)) throw typed;
    await rm(tempPath, { force: true });
    // The log may not exist yet (a new store); appends need it.
    await (await open(logPath, 'a')).close();
    logger.warn({ dir, err: typed }, `${typed.message}; starting on the uncompacted log`);
    return validBytes;
  }
}

/** A recursive mkdir on a read-only file system reports ENOENT; a plain one of the last step names the real reason. */
async function makeDataDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    await mkdir(dir).catch((plain: unknown) => {
      throw (plain as NodeJS.ErrnoException).code === 'EEXIST' ? error : plain;
    });
    throw error;
  }
}
