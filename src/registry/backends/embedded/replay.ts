// Embedded store: rebuilds live state from the log, dropping a torn tail and refusing corruption in the middle.
import { readFile } from 'node:fs/promises';
import { decodeRecord, encodeRecord } from './record-codec.js';
import { StoreCorruptError } from './store-errors.js';

export interface StoredEntry {
  readonly value: Uint8Array;
  readonly version: number;
  /** Size of this entry's put record, to know how much of the log is live. */
  readonly recordBytes: number;
}

export interface ReplayedLog {
  readonly entries: Map<string, StoredEntry>;
  readonly revision: number;
  /** End of the last good record; the file is truncated here when a torn tail was found. */
  readonly validBytes: number;
  readonly torn?: { readonly offset: number; readonly reason: string; readonly droppedBytes: number };
}

export async function readLog(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw error;
  }
}

export function replayLog(buf: Buffer, file: string): ReplayedLog {
  const entries = new Map<string, StoredEntry>();
  let revision = 0;
  let offset = 0;
  while (offset < buf.length) {
    const decoded = decodeRecord(buf, offset);
    if (!decoded.ok) {
      // A crash can only tear the tail; a good record after a bad one means damage to acknowledged data.
      if (hasValidRecordAfter(buf, offset + 1)) throw new StoreCorruptError(file, offset, decoded.reason);
      return { entries, revision, validBytes: offset, torn: { offset, reason: decoded.reason, droppedBytes: buf.length - offset } };
    }
    const record = decoded.record;
    if (record.revision > revision) revision = record.revision;
    if (record.kind === 'put') entries.set(record.key, { value: record.value, version: record.revision, recordBytes: decoded.size });
    else if (record.kind === 'delete') entries.delete(record.key);
    offset += decoded.size;
  }
  return { entries, revision, validBytes: offset };
}

function hasValidRecordAfter(buf: Buffer, from: number): boolean {
  for (let at = from; at < buf.length; at++) if (decodeRecord(buf, at).ok) return true;
  return false;
}

/** Bytes the live state takes once compacted: one revision record plus one put per key. */
export function liveBytesOf(entries: ReadonlyMap<string, StoredEntry>): number {
  let total = encodeRecord({ kind: 'revision', revision: 0 }).length;
  for (const entry of entries.values()) total += entry.recordBytes;
  return total;
}
