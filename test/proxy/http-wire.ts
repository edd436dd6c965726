// Test fixtures for raw HTTP/1.1 on a TCP socket: bytes written as a misbehaving client would, the replies read back with a small strict response parser.
import net from 'node:net';

export interface WireReply {
  readonly status: number;
  readonly statusLine: string;
  /** Header names in lower case; a repeated header keeps every value, joined by ", ". */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

export interface WireExchange {
  /** The replies that arrived whole, interim (1xx) ones included, in order. */
  readonly replies: WireReply[];
  /** Why the bytes after the last whole reply are no HTTP/1.1 reply; null when they are one, or a start of one, or nothing. */
  readonly malformed: string | null;
  /** Every byte the server sent. */
  readonly received: Buffer;
  /** The server closed the connection (rather than the client giving up waiting). */
  readonly closedByServer: boolean;
}

export interface WireOptions {
  /** Stop once this many final (non-1xx) replies arrived whole. */
  readonly finalReplies: number;
  /** Stop when nothing arrived for this long after the last write or read. */
  readonly quietMs: number;
  /** Stop after this long in any case. */
  readonly capMs: number;
  /** Pause between two writes, so that the server's parser sees the pieces apart. */
  readonly gapMs?: number;
}

const STATUS_LINE = /^HTTP\/1\.1 ([1-5]\d\d) [\t\x20-\x7e\x80-\xff]*$/;
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[\t ]*([\t\x20-\x7e\x80-\xff]*?)[\t ]*$/;

type Parsed = { kind: 'reply'; reply: WireReply; end: number } | { kind: 'partial' } | { kind: 'malformed'; reason: string };

/** One reply starting at `from`, or why it is none; `closed` says that no more bytes will come (a body read to the close). */
function parseReply(data: Buffer, from: number, closed: boolean): Parsed {
  const headEnd = data.indexOf('\r\n\r\n', from, 'latin1');
  if (headEnd < 0) {
    const head = data.subarray(from, from + 5).toString('latin1');
    if (!'HTTP/'.startsWith(head.slice(0, 5))) return { kind: 'malformed', reason: `not a status line: ${JSON.stringify(data.subarray(from, from + 40).toString('latin1'))}` };
    return closed ? { kind: 'malformed', reason: 'a reply head cut short' } : { kind: 'partial' };
  }
  const lines = data.subarray(from, headEnd).toString('latin1').split('\r\n');
  const statusLine = lines[0]!;
  const status = STATUS_LINE.exec(statusLine);
  if (!status) return { kind: 'malformed', reason: `not a status line: ${JSON.stringify(statusLine.slice(0, 80))}` };
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const header = HEADER_LINE.exec(line);
    if (!header) return { kind: 'malformed', reason: `not a header line: ${JSON.stringify(line.slice(0, 80))}` };
    const name = header[1]!.toLowerCase();
    const before = headers.get(name);
    headers.set(name, before === undefined ? header[2]! : `${before}, ${header[2]!}`);
  }
  const code = Number(status[1]);
  const bodyStart = headEnd + 4;
  const reply = (body: Buffer, end: number): Parsed => ({ kind: 'reply', reply: { status: code, statusLine, headers, body }, end });
  if (code < 200 || code === 204 || code === 304) return reply(Buffer.alloc(0), bodyStart);
  const te = headers.get('transfer-encoding');
  if (te !== undefined) {
    if (te.toLowerCase() !== 'chunked') return { kind: 'malformed', reason: `a reply framed by transfer-encoding "${te}"` };
    return parseChunked(data, bodyStart, closed, reply);
  }
  const length = headers.get('content-length');
  if (length !== undefined) {
    if (!/^\d{1,15}$/.test(length)) return { kind: 'malformed', reason: `content-length "${length}"` };
    const end = bodyStart + Number(length);
    if (data.length < end) return closed ? { kind: 'malformed', reason: 'a reply body cut short' } : { kind: 'partial' };
    return reply(data.subarray(bodyStart, end), end);
  }
  return closed ? reply(data.subarray(bodyStart), data.length) : { kind: 'partial' };
}

function parseChunked(data: Buffer, start: number, closed: boolean, reply: (body: Buffer, end: number) => Parsed): Parsed {
  const parts: Buffer[] = [];
  let at = start;
  for (let i = 0; i < 100_000; i++) {
    const lineEnd = data.indexOf('\r\n', at, 'latin1');
    if (lineEnd < 0) return closed ? { kind: 'malformed', reason: 'a chunk size line cut short' } : { kind: 'partial' };
    const sizeText = data.subarray(at, lineEnd).toString('latin1');
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return { kind: 'malformed', reason: `chunk size "${sizeText.slice(0, 20)}"` };
    const size = parseInt(sizeText, 16);
    if (size === 0) {
      const end = data.indexOf('\r\n\r\n', lineEnd, 'latin1');
      if (end !== lineEnd) return closed ? { kind: 'malformed', reason: 'the last chunk cut short' } : { kind: 'partial' };
      return reply(Buffer.concat(parts), end + 4);
    }
    const dataEnd = lineEnd + 2 + size;
    if (data.length < dataEnd + 2) return closed ? { kind: 'malformed', reason: 'a chunk cut short' } : { kind: 'partial' };
    if (data.toString('latin1', dataEnd, dataEnd + 2) !== '\r\n') return { kind: 'malformed', reason: 'a chunk without its CRLF' };
    parts.push(data.subarray(lineEnd + 2, dataEnd));
    at = dataEnd + 2;
  }
  return { kind: 'malformed', reason: 'too many chunks' };
}

/** Every whole reply in `data`, and why the rest is none (null: nothing, or the start of one still coming). */
export function parseReplies(data: Buffer, closed: boolean): { replies: WireReply[]; malformed: string | null } {
  const replies: WireReply[] = [];
  let at = 0;
  for (let i = 0; i < 10_000 && at < data.length; i++) {
    const parsed = parseReply(data, at, closed);
    if (parsed.kind === 'partial') break;
    if (parsed.kind === 'malformed') return { replies, malformed: parsed.reason };
    replies.push(parsed.reply);
    at = parsed.end;
  }
  return { replies, malformed: null };
}

/** Writes `pieces` on a fresh connection to 127.0.0.1:port and reads what comes back until one of the options' stops. */
export function exchange(port: number, pieces: readonly Buffer[], options: WireOptions): Promise<WireExchange> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closedByServer = false;
    let written = false;
    let settled = false;
    let quiet: NodeJS.Timeout | undefined;
    const socket = net.connect(port, '127.0.0.1');
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(cap);
      clearTimeout(quiet);
      socket.destroy();
      const received = Buffer.concat(chunks);
      resolve({ ...parseReplies(received, closedByServer), received, closedByServer });
    };
    const cap = setTimeout(finish, options.capMs);
    const rearm = (): void => {
      clearTimeout(quiet);
      if (written) quiet = setTimeout(finish, options.quietMs);
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      rearm();
      if (!written) return;
      const { replies } = parseReplies(Buffer.concat(chunks), false);
      if (replies.filter((r) => r.status >= 200).length >= options.finalReplies) finish();
    });
    socket.on('close', () => {
      closedByServer = !settled;
      finish();
    });
    socket.on('error', () => {});
    socket.on('connect', () => {
      void (async () => {
        for (const [i, piece] of pieces.entries()) {
          if (settled || socket.destroyed) return;
          if (i > 0 && (options.gapMs ?? 0) > 0) await new Promise((r) => setTimeout(r, options.gapMs));
          socket.write(piece);
        }
        written = true;
        rearm();
      })();
    });
  });
}
