// Embedded store: appends records to the log with group commit: records queued while a flush is in flight share the next write and fdatasync.
import { open, type FileHandle } from 'node:fs/promises';
import type { Clock } from '../../../core/index.js';
import { writeFully } from './compaction.js';
import { StoreClosedError } from './store-errors.js';
import type { StoreMetrics } from './store-metrics.js';

interface PendingAppend {
  readonly bytes: Buffer;
  /** Runs once the record is durable, before the append resolves, in log order. */
  readonly onDurable: () => void;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface ExclusiveTask {
  readonly run: () => Promise<void>;
  readonly reject: (error: unknown) => void;
}

export class LogWriter {
  private queue: PendingAppend[] = [];
  private readonly tasks: ExclusiveTask[] = [];
  private active: Promise<void> | undefined;
  private failure: unknown;
  private closed = false;

  private constructor(
    private handle: FileHandle,
    /** Bytes of the log known to be written; the next record goes here. */
    public size: number,
    private readonly clock: Clock,
    private readonly metrics: StoreMetrics,
  ) {
    metrics.logBytes.set(size);
  }

  static async open(path: string, size: number, clock: Clock, metrics: StoreMetrics): Promise<LogWriter> {
    return new LogWriter(await open(path, 'r+'), size, clock, metrics);
  }

  append(bytes: Buffer, onDurable: () => void): Promise<void> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    if (this.failure !== undefined) return Promise.reject(new StoreClosedError(`the store failed earlier and accepts no writes: ${String(this.failure)}`));
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
      next = await open(path, 'r+');
    } catch (error) {
      // The old handle now points at an unlinked file: writing on would lose data.
      this.failure = error;
      throw error;
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
    if (this.failure !== undefined) {
      for (const pending of batch) pending.reject(new StoreClosedError(`the store failed earlier and accepts no writes: ${String(this.failure)}`));
      return;
    }
    let bytes = 0;
    for (const pending of batch) bytes += pending.bytes.length;
    const buf = batch.length === 1 ? batch[0]!.bytes : Buffer.concat(batch.map((p) => p.bytes), bytes);
    const started = this.clock.now();
    try {
      await writeFully(this.handle, buf, this.size);
      await this.handle.datasync();
    } catch (error) {
      // After a failed write or fsync the file's state is unknown (fsyncgate): stop accepting writes.
      this.failure = error;
      for (const pending of batch) pending.reject(error);
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
}
