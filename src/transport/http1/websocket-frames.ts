// Transport/http1: where one direction of a WebSocket tunnel stands between frames (RFC 6455 5.2), so that a draining sidecar can put a close frame on the wire without cutting a frame in two.
import { randomBytes } from 'node:crypto';

const OP_CLOSE = 0x8;
const GOING_AWAY = 1001;
const EMPTY = Buffer.alloc(0);

/**
 * Follows the frame headers of one direction, skipping payloads unread. A header that no WebSocket peer sends (a reserved
 * opcode, a fragmented or oversized control frame, the wrong masking for the direction) marks the stream as not
 * followable: it is then carried untouched and ended without a close frame.
 */
export class WebSocketFrameScanner {
  /** Payload bytes still to come of the frame whose header was read. */
  private remaining = 0;
  private readonly header = Buffer.alloc(14);
  private headerLength = 0;
  private lost = false;
  private closeFrames = 0;

  /** @param masked whether frames in this direction are masked (client to server) or not (server to client). */
  constructor(private readonly masked: boolean) {}

  /** Whether the stream stands between two frames. */
  get atBoundary(): boolean {
    return !this.lost && this.remaining === 0 && this.headerLength === 0;
  }

  /** Whether the stream stopped looking like WebSocket frames. */
  get broken(): boolean {
    return this.lost;
  }

  /** Whether a close frame has begun in this direction. */
  get sawClose(): boolean {
    return this.closeFrames > 0;
  }

  /**
   * Reads chunk from `from`. With `stopAtBoundary`, stops at the first frame boundary it reaches (at `from` itself if the
   * stream stands between frames); returns the offset where it stopped.
   */
  scan(chunk: Buffer, from: number, stopAtBoundary: boolean): number {
    let at = from;
    while (!this.lost) {
      if (stopAtBoundary && this.atBoundary) return at;
      if (at >= chunk.length) return at;
      if (this.remaining > 0) {
        const skipped = Math.min(this.remaining, chunk.length - at);
        this.remaining -= skipped;
        at += skipped;
        continue;
      }
      this.header[this.headerLength++] = chunk[at++]!;
      const needed = this.headerSize();
      if (needed !== null && this.headerLength === needed) this.readHeader();
    }
    return chunk.length;
  }

  /** The whole header's size once enough of it is known, else null. */
  private headerSize(): number | null {
    if (this.headerLength < 2) return null;
    const length7 = this.header[1]! & 0x7f;
    const mask = (this.header[1]! & 0x80) !== 0 ? 4 : 0;
    return 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + mask;
  }

  private readHeader(): void {
    const first = this.header[0]!;
    const second = this.header[1]!;
    const opcode = first & 0x0f;
    const fin = (first & 0x80) !== 0;
    const length7 = second & 0x7f;
    this.headerLength = 0;
    const control = opcode >= 0x8;
    const known = opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xa);
    if (!known || ((second & 0x80) !== 0) !== this.masked || (control && (!fin || length7 > 125))) {
      this.lost = true;
      return;
    }
    if (opcode === OP_CLOSE) this.closeFrames++;
    if (length7 === 126) this.remaining = this.header.readUInt16BE(2);
    else if (length7 === 127) {
      const length = this.header.readBigUInt64BE(2);
      // Beyond 2^53 bytes no count stays exact; no peer sends such a frame.
      if (length > BigInt(Number.MAX_SAFE_INTEGER)) this.lost = true;
      else this.remaining = Number(length);
    } else this.remaining = length7;
  }
}

/** A close frame with 1001 (going away), masked when it goes to a server as a client's frames must be. */
export function goingAwayFrame(masked: boolean): Buffer {
  const payload = Buffer.alloc(2 + 'draining'.length);
  payload.writeUInt16BE(GOING_AWAY, 0);
  payload.write('draining', 2, 'latin1');
  if (!masked) return Buffer.concat([Buffer.from([0x80 | OP_CLOSE, payload.length]), payload]);
  const key = randomBytes(4);
  for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i % 4]!;
  return Buffer.concat([Buffer.from([0x80 | OP_CLOSE, 0x80 | payload.length]), key, payload]);
}

/**
 * One direction of a tunnel that may have to say "going away": carried as it comes until then; asked to, it sends a close
 * frame at the next frame boundary (at once if it stands at one) and drops what follows, since nothing may follow a
 * close. A direction whose close frame already passed needs none of ours.
 */
export class WebSocketCloseGate {
  private readonly scanner: WebSocketFrameScanner;
  /** open: followed; pending: a close frame waits for a boundary; closed: ours went; through: the peer's own close went. */
  private state: 'open' | 'pending' | 'closed' | 'through' = 'open';

  constructor(private readonly masked: boolean) {
    this.scanner = new WebSocketFrameScanner(masked);
  }

  /** Whether this direction can no longer be followed frame by frame, so a close frame cannot be put in it. */
  get broken(): boolean {
    return this.scanner.broken && this.state !== 'closed' && this.state !== 'through';
  }

  /** Asks for a close frame; returns it if it may go now, else null (it goes with the next boundary, or not at all). */
  goAway(): Buffer | null {
    if (this.state !== 'open') return null;
    if (this.scanner.sawClose) {
      // The recipient has its close already (maybe still arriving): the rest is carried as it comes.
      this.state = 'through';
      return null;
    }
    this.state = 'pending';
    if (!this.scanner.atBoundary) return null;
    this.state = 'closed';
    return goingAwayFrame(this.masked);
  }

  /** The bytes to forward for a chunk that came in this direction. */
  pass(chunk: Buffer): Buffer {
    if (this.state === 'open') {
      this.scanner.scan(chunk, 0, false);
      return chunk;
    }
    if (this.state === 'through') return chunk;
    if (this.state === 'closed') return EMPTY;
    const at = this.scanner.scan(chunk, 0, true);
    if (!this.scanner.atBoundary) return chunk;
    this.state = 'closed';
    return at === 0 ? goingAwayFrame(this.masked) : Buffer.concat([chunk.subarray(0, at), goingAwayFrame(this.masked)]);
  }
}
