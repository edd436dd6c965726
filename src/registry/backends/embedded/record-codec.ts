// Embedded store: the on-disk record frame (length, CRC-32, payload) and the put/delete/revision payloads inside it.
import { crc32 } from './crc32.js';

/**
 * Frame:   u32 payload length | u32 crc32(payload) | payload
 * Payload: u8 kind | u64 revision | (put, delete) u32 key length | key (utf-8) | (put) value
 * All integers big-endian.
 */
export const FRAME_HEADER_BYTES = 8;
const KIND_PUT = 1;
const KIND_DELETE = 2;
/** Carries the store revision alone, so compaction keeps it even when the newest change was a delete. */
const KIND_REVISION = 3;
/** Larger than any registry value; a bigger length field means a torn or corrupt header. */
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
const MIN_PAYLOAD_BYTES = 1 + 8;

export type LogRecord =
  | { readonly kind: 'put'; readonly revision: number; readonly key: string; readonly value: Uint8Array }
  | { readonly kind: 'delete'; readonly revision: number; readonly key: string }
  | { readonly kind: 'revision'; readonly revision: number };

export function encodeRecord(record: LogRecord): Buffer {
  const key = record.kind === 'revision' ? undefined : Buffer.from(record.key, 'utf8');
  const value = record.kind === 'put' ? record.value : undefined;
  const payloadBytes = 1 + 8 + (key ? 4 + key.length : 0) + (value ? value.length : 0);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadBytes);
  let at = FRAME_HEADER_BYTES;
  frame.writeUInt8(record.kind === 'put' ? KIND_PUT : record.kind === 'delete' ? KIND_DELETE : KIND_REVISION, at);
  at += 1;
  frame.writeBigUInt64BE(BigInt(record.revision), at);
  at += 8;
  if (key) {
    frame.writeUInt32BE(key.length, at);
    at += 4;
    key.copy(frame, at);
    at += key.length;
  }
  if (value) frame.set(value, at);
  frame.writeUInt32BE(payloadBytes, 0);
  frame.writeUInt32BE(crc32(frame, FRAME_HEADER_BYTES), 4);
  return frame;
}

export type DecodeResult =
  | { readonly ok: true; readonly record: LogRecord; readonly size: number }
  | { readonly ok: false; readonly reason: string };

/** Decodes the frame starting at `offset`; never throws on bad bytes. */
export function decodeRecord(buf: Buffer, offset: number): DecodeResult {
  const remaining = buf.length - offset;
  if (remaining < FRAME_HEADER_BYTES) return { ok: false, reason: `short header (${remaining} bytes)` };
  const length = buf.readUInt32BE(offset);
  if (length < MIN_PAYLOAD_BYTES || length > MAX_PAYLOAD_BYTES) return { ok: false, reason: `invalid length ${length}` };
  if (length > remaining - FRAME_HEADER_BYTES) return { ok: false, reason: `short record (${remaining - FRAME_HEADER_BYTES} of ${length} bytes)` };
  const start = offset + FRAME_HEADER_BYTES;
  const end = start + length;
  if (crc32(buf, start, end) !== buf.readUInt32BE(offset + 4)) return { ok: false, reason: 'checksum mismatch' };
  const kind = buf.readUInt8(start);
  const revision = Number(buf.readBigUInt64BE(start + 1));
  const size = FRAME_HEADER_BYTES + length;
  if (kind === KIND_REVISION) return length === MIN_PAYLOAD_BYTES ? { ok: true, record: { kind: 'revision', revision }, size } : { ok: false, reason: 'bad revision record' };
  if (kind !== KIND_PUT && kind !== KIND_DELETE) return { ok: false, reason: `unknown record kind ${kind}` };
  if (length < MIN_PAYLOAD_BYTES + 4) return { ok: false, reason: 'missing key length' };
  const keyLength = buf.readUInt32BE(start + 9);
  const keyStart = start + 13;
  if (keyStart + keyLength > end) return { ok: false, reason: `key length ${keyLength} overruns record` };
  const key = buf.toString('utf8', keyStart, keyStart + keyLength);
  if (kind === KIND_DELETE) {
    return keyStart + keyLength === end ? { ok: true, record: { kind: 'delete', revision, key }, size } : { ok: false, reason: 'trailing bytes in delete record' };
  }
  // Copy: the replay buffer is large and transient, values are kept.
  const value = new Uint8Array(buf.subarray(keyStart + keyLength, end));
  return { ok: true, record: { kind: 'put', revision, key, value }, size };
}
