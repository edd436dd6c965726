// Transport/http1: the incremental HTTP/1.1 response parser (RFC 9112) of the client side of upstream connections, strict about framing.
import { Buffer } from 'node:buffer';

/** What the parser reports, synchronously from inside execute() and finish(). */
export interface ResponseEvents {
  /** A complete response head. Called for interim 1xx heads too (then another head follows; 101 is final and ends parsing with no body). */
  onHead(status: number, reason: string, headers: string[]): void;
  /** A piece of body, already de-chunked; a view into the input buffer (subarray, no copy) — the caller copies if it keeps it. */
  onBody(chunk: Buffer): void;
  /** The response is complete; trailers of a chunked body (raw pairs) or null when there were none. */
  onComplete(trailers: string[] | null): void;
}

/** Bytes that are no valid response. The codes are llhttp's, so callers that handled undici's parser errors keep working. */
export class ResponseParseError extends Error {
  override readonly name = 'HTTPParserError';
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface ResponseParserLimits {
  /** Bound on the status line and header fields together, and separately on the trailer section (default 16384). */
  maxHeaderBytes?: number;
  /** Bound on the number of header fields, and separately of trailer fields (default 200). */
  maxHeaderCount?: number;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const COMMA = 0x2c;
const SEMICOLON = 0x3b;

/** RFC 9110 tchar, by byte: what a field name may hold. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;
/** HTAB, SP, VCHAR and obs-text, by byte: what a field value, a reason phrase or a chunk extension may hold. */
const TEXT = new Uint8Array(256);
TEXT[HTAB] = 1;
for (let c = 0x20; c < 0x100; c++) if (c !== 0x7f) TEXT[c] = 1;
/** Hex digit values, -1 for other bytes. */
const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) HEX[0x41 + c] = HEX[0x61 + c] = 10 + c;

/** What every status line starts with; the byte at MINOR_AT may also be '0'. */
const STATUS_PREFIX = Buffer.from('HTTP/1.1 ', 'latin1');
const MINOR_AT = 7;
/** `HTTP/1.1 200`: the shortest status line. */
const STATUS_LINE_MIN = 12;
/** A chunk size of more hex digits than this cannot be a safe integer anyway. */
const MAX_CHUNK_SIZE_DIGITS = 16;
/** Extensions carry nothing we use; bounding them keeps a size line from buffering without end. */
const MAX_CHUNK_EXTENSION = 1024;
const MAX_CHUNK_LINE = MAX_CHUNK_SIZE_DIGITS + MAX_CHUNK_EXTENSION + 2;
const EMPTY = Buffer.alloc(0);

const IDLE = 0;
const HEAD = 1;
const BODY_LENGTH = 2;
const BODY_CLOSE = 3;
const CHUNK_SIZE = 4;
const CHUNK_DATA = 5;
const CHUNK_DATA_CR = 6;
const CHUNK_DATA_LF = 7;
const TRAILERS = 8;
const DONE = 9;
const FAILED = 10;

function isOws(c: number | undefined): boolean {
  return c === SP || c === HTAB;
}

/**
 * Case-insensitive comparison with a lowercase name of letters and '-', without lowercasing a copy. `| 0x20` maps
 * no field byte other than an uppercase letter onto a lowercase letter or '-' (CR would, but never gets this far).
 */
function sameLower(buf: Buffer, start: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) if ((buf[start + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/** The end of the list element that starts at `from`: its comma, or `end`. */
function elementEnd(buf: Buffer, from: number, end: number): number {
  let i = from;
  while (i < end && buf[i] !== COMMA) i++;
  return i;
}

function skipOws(buf: Buffer, from: number, end: number): number {
  let i = from;
  while (i < end && isOws(buf[i])) i++;
  return i;
}

function trimOwsEnd(buf: Buffer, start: number, end: number): number {
  let i = end;
  while (i > start && isOws(buf[i - 1])) i--;
  return i;
}

/** The byte at `i` of a line that ends at `end`, 0 past it: the CR at `end` is the line's own, not a stray one. */
function byteBefore(buf: Buffer, i: number, end: number): number {
  return i < end ? buf[i]! : 0;
}

/** A byte that breaks a line's grammar; a CR anywhere but before the LF is a line ending gone wrong, and said so. */
function badByte(c: number, code: string, message: string): ResponseParseError {
  return c === CR ? new ResponseParseError('HPE_LF_EXPECTED', 'CR not followed by LF') : new ResponseParseError(code, message);
}

/** Checks that [start, end) is field text (HTAB, SP, VCHAR, obs-text); returns a hash of it for intern(). */
function checkText(buf: Buffer, start: number, end: number, code: string, message: string): number {
  let hash = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (TEXT[c] === 0) throw badByte(c, code, message);
    hash = (Math.imul(hash, 31) + c) | 0;
  }
  return hash;
}

/**
 * Strings made lately from short names and values, by a hash of their bytes. Upstreams repeat the same few names and
 * many values response after response, and comparing bytes with a string made before costs a fraction of making one
 * (a call into C++ and an allocation). A slot holds the last string that hashed to it: bounded, and a miss costs little.
 */
const INTERN_SLOTS = 1024;
const INTERN_MAX_LENGTH = 64;
const interned: string[] = new Array<string>(INTERN_SLOTS).fill('');

/** The latin1 string of [start, end); `hash` is checkText's (or the name loop's) hash of those bytes. */
function intern(buf: Buffer, start: number, end: number, hash: number): string {
  const length = end - start;
  if (length === 0) return '';
  if (length > INTERN_MAX_LENGTH) return buf.toString('latin1', start, end);
  const slot = (hash ^ (hash >>> 10) ^ length) & (INTERN_SLOTS - 1);
  const known = interned[slot]!;
  if (known.length === length) {
    let i = 0;
    while (i < length && known.charCodeAt(i) === buf[start + i]) i++;
    if (i === length) return known;
  }
  const made = buf.toString('latin1', start, end);
  interned[slot] = made;
  return made;
}

/**
 * Reads one response at a time from an upstream connection's bytes. Lines are found with indexOf and parsed in place
 * in the caller's buffer; only a line split across calls is copied (its pieces joined once, when its LF arrives).
 */
export class ResponseParser {
  private readonly maxHeaderBytes: number;
  private readonly maxHeaderCount: number;
  private state = IDLE;
  private failure: unknown = null;
  private headRequest = false;
  private connectRequest = false;
  private keepAliveAfter = false;
  private timeoutMs = -1;

  /** The start of a line that has not ended yet. */
  private pieces: Buffer[] = [];
  private pendingLength = 0;
  /** The last line read: its bytes [lineStart, lineEnd) before the CRLF, in the caller's buffer or in a joined copy. */
  private line: Buffer = EMPTY;
  private lineStart = 0;
  private lineEnd = 0;

  /** Bytes of the head (or trailer section) so far, for maxHeaderBytes. */
  private sectionBytes = 0;
  /** 0 until the status line of the current head is read. */
  private status = 0;
  private reason = '';
  private minorVersion = 1;
  private fields: string[] = [];
  private trailers: string[] | null = null;
  private remaining = 0;

  // What the current head says about framing and the connection.
  private contentLength = -1;
  private transferEncoding = false;
  private chunkedSeen = false;
  private chunkedLast = false;
  private connectionClose = false;
  private connectionKeepAlive = false;
  private keepAliveHintMs = -1;

  constructor(
    private readonly events: ResponseEvents,
    limits: ResponseParserLimits = {},
  ) {
    this.maxHeaderBytes = limits.maxHeaderBytes ?? 16384;
    this.maxHeaderCount = limits.maxHeaderCount ?? 200;
  }

  /** After onComplete: whether the connection may carry another request. */
  get keepAlive(): boolean {
    return this.keepAliveAfter;
  }

  /** The server's Keep-Alive: timeout=N hint in ms (0 is a hint too: the server closes at once), or -1 when none (read from the final head). */
  get keepAliveTimeoutMs(): number {
    return this.timeoutMs;
  }

  /** A response is being parsed (between expect and onComplete/throw). */
  get busy(): boolean {
    return this.state !== IDLE && this.state !== DONE && this.state !== FAILED;
  }

  /** Starts a new response, to a request with this method (HEAD: no body whatever the headers say; CONNECT: a 2xx ends at its head). */
  expect(method: string): void {
    this.state = HEAD;
    this.failure = null;
    this.headRequest = method === 'HEAD';
    this.connectRequest = method === 'CONNECT';
    this.keepAliveAfter = false;
    this.timeoutMs = -1;
    this.pieces = [];
    this.pendingLength = 0;
    this.trailers = null;
    this.remaining = 0;
    this.startHead();
  }

  /**
   * Feeds bytes; returns how many belong to the current response (fewer than data.length when it completed inside
   * them). Throws ResponseParseError on bytes that are no valid response; the parser then stays failed until expect().
   */
  execute(data: Buffer): number {
    const state = this.state;
    if (state === FAILED) throw this.failure;
    if (state === IDLE || state === DONE) return 0;
    try {
      return this.run(data);
    } catch (err) {
      // An error thrown by an event handler leaves the parser mid-message just as a parse error does.
      this.state = FAILED;
      this.failure = err;
      this.line = EMPTY;
      throw err;
    }
  }

  /** The connection ended: completes a body delimited by close, throws HPE_INVALID_EOF_STATE for a response cut short. */
  finish(): void {
    switch (this.state) {
      case BODY_CLOSE:
        this.complete(null);
        return;
      case IDLE:
      case DONE:
      case FAILED:
        return;
      default: {
        const err = new ResponseParseError('HPE_INVALID_EOF_STATE', 'Connection closed before the response was complete');
        this.state = FAILED;
        this.failure = err;
        throw err;
      }
    }
  }

  private run(data: Buffer): number {
    const length = data.length;
    let pos = 0;
    while (pos < length) {
      switch (this.state) {
        case HEAD: {
          if (this.status === 0) this.checkStatusPrefix(data, pos);
          const next = this.readLine(data, pos, this.maxHeaderBytes - this.sectionBytes, 'HPE_HEADER_OVERFLOW');
          if (next < 0) return length;
          pos = next;
          this.sectionBytes += this.lineEnd + 2 - this.lineStart;
          if (this.status === 0) this.parseStatusLine(this.line, this.lineStart, this.lineEnd);
          else if (this.lineEnd > this.lineStart) this.parseField(this.line, this.lineStart, this.lineEnd, this.fields, true);
          else if (this.endHead()) return pos;
          break;
        }
        case BODY_LENGTH:
        case CHUNK_DATA: {
          const end = Math.min(length, pos + this.remaining);
          this.remaining -= end - pos;
          this.events.onBody(pos === 0 && end === length ? data : data.subarray(pos, end));
          pos = end;
          if (this.remaining > 0) break;
          if (this.state === BODY_LENGTH) {
            this.complete(null);
            return pos;
          }
          this.state = CHUNK_DATA_CR;
          break;
        }
        case BODY_CLOSE:
          this.events.onBody(pos === 0 ? data : data.subarray(pos));
          return length;
        case CHUNK_SIZE: {
          const next = this.readLine(data, pos, MAX_CHUNK_LINE, 'HPE_INVALID_CHUNK_SIZE');
          if (next < 0) return length;
          pos = next;
          this.parseChunkSize(this.line, this.lineStart, this.lineEnd);
          break;
        }
        case CHUNK_DATA_CR: {
          const c = data[pos++]!;
          if (c !== CR) throw new ResponseParseError('HPE_CR_EXPECTED', c === LF ? 'LF without CR after chunk data' : 'Missing CRLF after chunk data');
          this.state = CHUNK_DATA_LF;
          break;
        }
        case CHUNK_DATA_LF:
          if (data[pos++] !== LF) throw new ResponseParseError('HPE_LF_EXPECTED', 'CR not followed by LF after chunk data');
          this.state = CHUNK_SIZE;
          break;
        case TRAILERS: {
          const next = this.readLine(data, pos, this.maxHeaderBytes - this.sectionBytes, 'HPE_HEADER_OVERFLOW');
          if (next < 0) return length;
          pos = next;
          this.sectionBytes += this.lineEnd + 2 - this.lineStart;
          if (this.lineEnd === this.lineStart) {
            this.complete(this.trailers);
            return pos;
          }
          this.trailers ??= [];
          this.parseField(this.line, this.lineStart, this.lineEnd, this.trailers, false);
          break;
        }
        default:
          return pos;
      }
    }
    return pos;
  }

  /**
   * Finds the next line from `pos`: sets line/lineStart/lineEnd and returns the position after its LF, or keeps the
   * unfinished line and returns -1. `budget` bounds the line with its CRLF, also while it is unfinished.
   */
  private readLine(data: Buffer, pos: number, budget: number, overflow: string): number {
    const lf = data.indexOf(LF, pos);
    if (lf < 0) {
      const rest = data.length - pos;
      if (this.pendingLength + rest > budget) throw new ResponseParseError(overflow, 'Line too long');
      // A copy: the caller may reuse its buffer once execute returns.
      this.pieces.push(Buffer.from(data.subarray(pos)));
      this.pendingLength += rest;
      return -1;
    }
    const lineLength = this.pendingLength + lf + 1 - pos;
    if (lineLength > budget) throw new ResponseParseError(overflow, 'Line too long');
    if (this.pendingLength === 0) {
      this.line = data;
      this.lineStart = pos;
    } else {
      this.pieces.push(data.subarray(pos, lf + 1));
      this.line = Buffer.concat(this.pieces, lineLength);
      this.lineStart = 0;
      this.pieces = [];
      this.pendingLength = 0;
    }
    const lfAt = this.lineStart + lineLength - 1;
    if (lineLength < 2 || this.line[lfAt - 1] !== CR) throw new ResponseParseError('HPE_CR_EXPECTED', 'LF without CR');
    this.lineEnd = lfAt - 1;
    return lf + 1;
  }

  /** Refuses a peer that is not speaking HTTP/1.x as soon as its first bytes show it, not once a whole line has come. */
  private checkStatusPrefix(data: Buffer, pos: number): void {
    const seen = this.pendingLength;
    if (seen >= STATUS_PREFIX.length) return;
    const end = Math.min(data.length, pos + STATUS_PREFIX.length - seen);
    for (let i = pos; i < end; i++) {
      const at = seen + i - pos;
      const c = data[i]!;
      if (c !== STATUS_PREFIX[at] && !(at === MINOR_AT && c === 0x30)) {
        throw new ResponseParseError('HPE_INVALID_CONSTANT', 'Expected HTTP/1.1 or HTTP/1.0');
      }
    }
  }

  /** The prefix is already checked; what is left is `DDD [SP reason]`. */
  private parseStatusLine(buf: Buffer, start: number, end: number): void {
    if (end - start < STATUS_LINE_MIN) throw new ResponseParseError('HPE_INVALID_STATUS', 'Invalid status code');
    const d0 = buf[start + 9]! - 0x30;
    const d1 = buf[start + 10]! - 0x30;
    const d2 = buf[start + 11]! - 0x30;
    if (d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) throw new ResponseParseError('HPE_INVALID_STATUS', 'Invalid status code');
    let reason = '';
    if (end - start > STATUS_LINE_MIN) {
      if (buf[start + STATUS_LINE_MIN] !== SP) throw badByte(buf[start + STATUS_LINE_MIN]!, 'HPE_INVALID_STATUS', 'Invalid status code');
      const from = start + STATUS_LINE_MIN + 1;
      reason = intern(buf, from, end, checkText(buf, from, end, 'HPE_INVALID_STATUS', 'Invalid reason phrase'));
    }
    this.minorVersion = buf[start + MINOR_AT]! - 0x30;
    this.status = d0 * 100 + d1 * 10 + d2;
    this.reason = reason;
  }

  private parseField(buf: Buffer, start: number, end: number, list: string[], framing: boolean): void {
    // Folding would let a value hide a second field from one reader and not another (RFC 9112 5.2).
    if (isOws(buf[start])) throw new ResponseParseError('HPE_OBS_FOLD', 'Obsolete line folding');
    let i = start;
    let nameHash = 0;
    for (let c = buf[i]!; i < end && TCHAR[c] === 1; c = buf[++i]!) nameHash = (Math.imul(nameHash, 31) + c) | 0;
    if (buf[i] !== COLON || i === end) throw badByte(byteBefore(buf, i, end), 'HPE_INVALID_HEADER_TOKEN', 'Invalid header field name');
    if (i === start) throw new ResponseParseError('HPE_INVALID_HEADER_TOKEN', 'Empty header field name');
    const nameEnd = i;
    const valueStart = skipOws(buf, i + 1, end);
    const valueEnd = trimOwsEnd(buf, valueStart, end);
    const valueHash = checkText(buf, valueStart, valueEnd, 'HPE_INVALID_HEADER_TOKEN', 'Invalid header value char');
    if (list.length >= this.maxHeaderCount * 2) throw new ResponseParseError('HPE_HEADER_OVERFLOW', 'Too many header fields');
    list.push(intern(buf, start, nameEnd, nameHash), intern(buf, valueStart, valueEnd, valueHash));
    if (framing) this.readFramingField(buf, start, nameEnd, valueStart, valueEnd);
  }

  private readFramingField(buf: Buffer, start: number, nameEnd: number, valueStart: number, valueEnd: number): void {
    switch (nameEnd - start) {
      case 14:
        if (sameLower(buf, start, 'content-length')) this.readContentLength(buf, valueStart, valueEnd);
        return;
      case 17:
        if (sameLower(buf, start, 'transfer-encoding')) this.readTransferEncoding(buf, valueStart, valueEnd);
        return;
      case 10:
        if (sameLower(buf, start, 'connection')) this.readConnection(buf, valueStart, valueEnd);
        else if (sameLower(buf, start, 'keep-alive')) this.readKeepAlive(buf, valueStart, valueEnd);
        return;
    }
  }

  /** `1*DIGIT`, a list of them only when all are equal (RFC 9110 8.6): any other reading is a smuggling vector. */
  private readContentLength(buf: Buffer, start: number, end: number): void {
    let i = start;
    while (true) {
      i = skipOws(buf, i, end);
      const digitsFrom = i;
      let n = 0;
      for (let d = (buf[i] ?? 0) - 0x30; i < end && d >= 0 && d <= 9; d = (buf[++i] ?? 0) - 0x30) {
        n = n * 10 + d;
        if (n > Number.MAX_SAFE_INTEGER) throw new ResponseParseError('HPE_INVALID_CONTENT_LENGTH', 'Content-Length too large');
      }
      if (i === digitsFrom) throw new ResponseParseError('HPE_INVALID_CONTENT_LENGTH', 'Invalid Content-Length');
      if (this.contentLength >= 0 && this.contentLength !== n) throw new ResponseParseError('HPE_UNEXPECTED_CONTENT_LENGTH', 'Conflicting Content-Length values');
      this.contentLength = n;
      i = skipOws(buf, i, end);
      if (i === end) return;
      if (buf[i] !== COMMA) throw new ResponseParseError('HPE_INVALID_CONTENT_LENGTH', 'Invalid Content-Length');
      i++;
    }
  }

  /** Only the last coding decides the framing; chunked twice, or a field with no coding, is refused (RFC 9112 6.1). */
  private readTransferEncoding(buf: Buffer, start: number, end: number): void {
    let codings = 0;
    for (let i = start; i <= end; ) {
      const elementTo = elementEnd(buf, i, end);
      const from = skipOws(buf, i, elementTo);
      const to = trimOwsEnd(buf, from, elementTo);
      if (to > from) {
        codings++;
        const chunked = to - from === 7 && sameLower(buf, from, 'chunked');
        if (chunked && this.chunkedSeen) throw new ResponseParseError('HPE_INVALID_TRANSFER_ENCODING', 'Chunked applied more than once');
        this.chunkedSeen ||= chunked;
        this.chunkedLast = chunked;
      }
      i = elementTo + 1;
    }
    if (codings === 0) throw new ResponseParseError('HPE_INVALID_TRANSFER_ENCODING', 'Empty Transfer-Encoding');
    this.transferEncoding = true;
  }

  private readConnection(buf: Buffer, start: number, end: number): void {
    for (let i = start; i <= end; ) {
      const elementTo = elementEnd(buf, i, end);
      const from = skipOws(buf, i, elementTo);
      const to = trimOwsEnd(buf, from, elementTo);
      if (to - from === 5 && sameLower(buf, from, 'close')) this.connectionClose = true;
      else if (to - from === 10 && sameLower(buf, from, 'keep-alive')) this.connectionKeepAlive = true;
      i = elementTo + 1;
    }
  }

  /** Only a hint for the pool: an element it cannot read is passed over rather than failing the response. */
  private readKeepAlive(buf: Buffer, start: number, end: number): void {
    for (let i = start; i <= end; ) {
      const elementTo = elementEnd(buf, i, end);
      const from = skipOws(buf, i, elementTo);
      const to = trimOwsEnd(buf, from, elementTo);
      if (to - from > 8 && sameLower(buf, from, 'timeout') && buf[from + 7] === 0x3d /* = */ && to - from <= 8 + 9) {
        let seconds = 0;
        let j = from + 8;
        for (; j < to; j++) {
          const d = buf[j]! - 0x30;
          if (d < 0 || d > 9) break;
          seconds = seconds * 10 + d;
        }
        if (j === to) this.keepAliveHintMs = seconds * 1000;
      }
      i = elementTo + 1;
    }
  }

  /** The blank line after a head: true when the response is complete with it. */
  private endHead(): boolean {
    const status = this.status;
    const reason = this.reason;
    const fields = this.fields;
    if (status < 200 && status !== 101) {
      this.startHead();
      this.events.onHead(status, reason, fields);
      return false;
    }
    let keepAlive = this.minorVersion === 1 ? !this.connectionClose : this.connectionKeepAlive && !this.connectionClose;
    // Both framings on one message is what request smuggling looks like: never trust the connection after it.
    if (this.transferEncoding && this.contentLength >= 0) keepAlive = false;
    let complete = false;
    // What follows a switch of protocols, or a tunnel's 2xx (RFC 9112 6.3), is the peer's new stream, not this response.
    if (status === 101 || (this.connectRequest && status < 300)) {
      keepAlive = false;
      complete = true;
    } else if (this.headRequest || status === 204 || status === 304) {
      complete = true;
    } else if (this.transferEncoding) {
      if (this.chunkedLast) {
        this.state = CHUNK_SIZE;
      } else {
        this.state = BODY_CLOSE;
        keepAlive = false;
      }
    } else if (this.contentLength > 0) {
      this.state = BODY_LENGTH;
      this.remaining = this.contentLength;
    } else if (this.contentLength === 0) {
      complete = true;
    } else {
      this.state = BODY_CLOSE;
      keepAlive = false;
    }
    this.keepAliveAfter = keepAlive;
    this.timeoutMs = this.keepAliveHintMs;
    if (complete) this.state = DONE;
    this.events.onHead(status, reason, fields);
    if (complete) this.complete(null);
    return complete;
  }

  private parseChunkSize(buf: Buffer, start: number, end: number): void {
    let i = start;
    let size = 0;
    for (let h = HEX[buf[i]!]!; i < end && h >= 0; h = HEX[buf[++i]!]!) {
      if (i - start === MAX_CHUNK_SIZE_DIGITS) throw new ResponseParseError('HPE_INVALID_CHUNK_SIZE', 'Chunk size too large');
      size = size * 16 + h;
    }
    if (i === start) throw badByte(byteBefore(buf, i, end), 'HPE_INVALID_CHUNK_SIZE', 'Invalid chunk size');
    if (size > Number.MAX_SAFE_INTEGER) throw new ResponseParseError('HPE_INVALID_CHUNK_SIZE', 'Chunk size too large');
    if (i < end) {
      if (end - i > MAX_CHUNK_EXTENSION) throw new ResponseParseError('HPE_INVALID_CHUNK_SIZE', 'Chunk extension too long');
      const semicolon = skipOws(buf, i, end);
      if (buf[semicolon] !== SEMICOLON || semicolon === end) throw badByte(byteBefore(buf, semicolon, end), 'HPE_INVALID_CHUNK_SIZE', 'Invalid chunk size');
      checkText(buf, semicolon + 1, end, 'HPE_INVALID_CHUNK_SIZE', 'Invalid chunk extension');
    }
    if (size === 0) {
      this.state = TRAILERS;
      this.sectionBytes = 0;
    } else {
      this.state = CHUNK_DATA;
      this.remaining = size;
    }
  }

  private startHead(): void {
    this.status = 0;
    this.reason = '';
    this.minorVersion = 1;
    this.fields = [];
    this.sectionBytes = 0;
    this.contentLength = -1;
    this.transferEncoding = false;
    this.chunkedSeen = false;
    this.chunkedLast = false;
    this.connectionClose = false;
    this.connectionKeepAlive = false;
    this.keepAliveHintMs = -1;
  }

  private complete(trailers: string[] | null): void {
    this.state = DONE;
    this.line = EMPTY;
    this.events.onComplete(trailers);
  }
}
