// Embedded store: rewrites the live state into a fresh log file and swaps it in atomically (temp file, fsync, rename, fsync dir).
import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { encodeRecord } from './record-codec.js';
import type { StoredEntry } from './replay.js';

const CHUNK_BYTES = 1024 * 1024;

export interface SnapshotFile {
  readonly handle: FileHandle;
  readonly path: string;
  size: number;
}

/** Writes a revision record and one put per live key to `path` (truncating it); the caller installs or discards it. */
export async function writeSnapshot(path: string, revision: number, entries: Iterable<readonly [string, StoredEntry]>): Promise<SnapshotFile> {
  const file: SnapshotFile = { handle: await open(path, 'w'), path, size: 0 };
  try {
    let chunk: Buffer[] = [encodeRecord({ kind: 'revision', revision })];
    let chunkBytes = chunk[0]!.length;
    for (const [key, entry] of entries) {
      const record = encodeRecord({ kind: 'put', revision: entry.version, key, value: entry.value });
      chunk.push(record);
      chunkBytes += record.length;
      if (chunkBytes >= CHUNK_BYTES) {
        await appendBytes(file, Buffer.concat(chunk, chunkBytes));
        chunk = [];
        chunkBytes = 0;
      }
    }
    if (chunkBytes > 0) await appendBytes(file, Buffer.concat(chunk, chunkBytes));
    return file;
  } catch (error) {
    await file.handle.close().catch(() => undefined);
    throw error;
  }
}

export async function appendBytes(file: SnapshotFile, bytes: Buffer): Promise<void> {
  await writeFully(file.handle, bytes, file.size);
  file.size += bytes.length;
}

/** Makes the snapshot durable and atomically replaces the log with it. */
export async function installSnapshot(file: SnapshotFile, logPath: string): Promise<void> {
  try {
    await file.handle.datasync();
  } finally {
    await file.handle.close();
  }
  await rename(file.path, logPath);
  await syncDirectory(dirname(logPath));
}

/** A rename is durable only once the directory entry itself is flushed. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function writeFully(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}
