// Embedded store: appends records to the log with group commit: records queued while a flush is in flight share the next write and fdatasync.
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock, WeftError } from '../../../core/index.js';
import { StoreClosedError, StoreUnavailableError, storeIoError } from './store-errors.js';
import type { StoreMetrics } from './store-metrics.js';

interface PendingAppend {
  readonly bytes: Buffer;
  /** Runs once the record is durable, before the append resolves, in log order. */
  readonly onDurable: () => void;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Opens the log for reading and writing; replaceable so that tests can inject file-system faults. */
export type LogOpener = (path: string) => Promise<FileHandle>;
export const openLogFile: LogOpener = (path) => open(path, 'r+');

/** Told after a batch failed and every queued append was rejected; `stopped` when the writer accepts no more writes. */
export type FailedBatchListener = (error: WeftError, stopped: boolean) => void;

interface ExclusiveTask {
  readonly run: () => Promise<void>;
  readonly reject: (error: unknown) => void;
}

export class LogWriter {
  private queue: PendingAppend[] = [];
  private readonly tasks: ExclusiveTask[] = [];
  private active: Promise<void> | undefined;
  /** Set once the log's tail is unknown (a failed rollback, a failed swap): every later write gets it. */
  private stopped: WeftError | undefined;
  private closed = false;
  private readonly dir: string;

  private constructor(
    private handle: FileHandle,
    path: string,
    /** Bytes of the log known to be durable; the next record goes here. */
    public size: number,
    private readonly clock: Clock,
    private readonly metrics: StoreMetrics,
    private readonly openLog: LogOpener,
    private readonly onFailedBatch: FailedBatchListener,
  ) {
    this.dir = dirname(path);
    metrics.logBytes.set(size);
  }

  static async open(path: string, size: number, clock: Clock, metrics: StoreMetrics, onFailedBatch: FailedBatchListener, openLog = openLogFile): Promise<LogWriter> {
    return new LogWriter(await openLog(path), path, size, clock, metrics, openLog, onFailedBatch);
  }

  append(bytes: Buffer, onDurable: () => void): Promise<void> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    if (this.stopped !== undefined) return Promise.reject(this.stopped);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bytes, onDurable, resolve, reject });
      this.kick();
    });
  }

  /** Runs `fn` between flushes, with no write in flight; appends wait and then go out as one batch. */
  exclusive<T>(fn: (writer: LogWriter) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.tasks.push({ run: async () => resolve(await fn(this)), reject });
      this.kick();
    });
  }

  /** Switches to a new log file (after compaction renamed it over the old one); only inside exclusive(). */
  async swap(path: string, size: number): Promise<void> {
    let next: FileHandle;
    try {
      next = await this.openLog(path);
    } catch (error) {
      // The old handle now points at an unlinked file: writing on would lose data.
      this.stopped = new StoreUnavailableError(this.dir, 'reopening the log after compaction; restart the control plane', error);
      throw this.stopped;
    }
    const previous = this.handle;
    this.handle = next;
    this.size = size;
    this.metrics.logBytes.set(size);
    await previous.close();
  }

  async readRange(from: number, to: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(to - from);
    let done = 0;
    while (done < out.length) {
      const { bytesRead } = await this.handle.read(out, done, out.length - done, from + done);
      if (bytesRead === 0) throw new Error(`log ended at ${from + done}, expected ${to}`);
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.active) await this.active;
    await this.handle.close();
  }

  private kick(): void {
    if (this.active) return;
    this.active = this.drain().finally(() => {
      this.active = undefined;
      if (this.queue.length > 0 || this.tasks.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      const task = this.tasks.shift();
      if (task) {
        try {
          await task.run();
        } catch (error) {
          task.reject(error);
        }
        continue;
      }
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      await this.flush(batch);
    }
  }

  private async flush(batch: PendingAppend[]): Promise<void> {
    if (this.stopped !== undefined) {
      for (const pending of batch) pending.reject(this.stopped);
      return;
    }
    let bytes = 0;
    for (const pending of batch) bytes += pending.bytes.length;
    const buf = batch.length === 1 ? batch[0]!.bytes : Buffer.concat(batch.map((p) => p.bytes), bytes);
    const started = this.clock.now();
    let written = 0;
    let syncing = false;
    try {
      while (written < buf.length) {
        const { bytesWritten } = await this.handle.write(buf, written, buf.length - written, this.size + written);
        written += bytesWritten;
      }
      syncing = true;
      await this.handle.datasync();
    } catch (error) {
      await this.failBatch(batch, storeIoError(this.dir, syncing ? 'syncing the log (fdatasync)' : 'appending to the log', error), written > 0 || syncing);
      return;
    }
    this.size += bytes;
    this.metrics.fsyncSeconds.observe((this.clock.now() - started) / 1000);
    this.metrics.batchRecords.observe(batch.length);
    this.metrics.logBytes.set(this.size);
    for (const pending of batch) {
      pending.onDurable();
      pending.resolve();
    }
  }

  /**
   * A failed write or fdatasync fails its whole batch, and every append queued behind it (they were admitted
   * against state that included the failed ones). The batch is never synced again and called durable: after a
   * failed fsync the kernel may have dropped the dirty pages and a second fsync can succeed without them
   * (PostgreSQL's "fsyncgate"). Instead the file is cut back to the last durable record and that cut is synced,
   * so no partial or unacknowledged record stays in front of later appends; if even that fails the tail is
   * unknown and the writer stops taking writes until a restart replays the log.
   */
  private async failBatch(batch: PendingAppend[], error: WeftError, touchedFile: boolean): Promise<void> {
    if (touchedFile) {
      try {
        await this.handle.truncate(this.size);
        await this.handle.datasync();
      } catch (rollbackError) {
        this.stopped = new StoreUnavailableError(this.dir, `cutting the log back to its last durable record after "${error.message}"; restart the control plane`, rollbackError);
      }
    }
    const queued = this.queue;
    this.queue = [];
    this.metrics.failedBatches.inc({ code: error.code });
    for (const pending of batch) pending.reject(error);
    for (const pending of queued) pending.reject(error);
    this.onFailedBatch(error, this.stopped !== undefined);
  }
}
