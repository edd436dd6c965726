// Tests for transport/http1/response-parser: framing, keep-alive, limits and the refusal of malformed responses, fed whole and in pieces.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ResponseParseError, ResponseParser, type ResponseEvents, type ResponseParserLimits } from '../../src/transport/http1/response-parser.js';

/** Records the events; body pieces are copied at once, as a caller that keeps them must. */
class Recorder implements ResponseEvents {
  readonly heads: Array<[number, string, string[]]> = [];
  readonly completes: Array<string[] | null> = [];
  readonly pieces: Buffer[] = [];
  /** The order of events, with consecutive body pieces as one. */
  readonly order: string[] = [];

  onHead(status: number, reason: string, headers: string[]): void {
    this.heads.push([status, reason, headers]);
    this.order.push('head');
  }

  onBody(chunk: Buffer): void {
    expect(chunk.length).toBeGreaterThan(0);
    this.pieces.push(Buffer.from(chunk));
    if (this.order.at(-1) !== 'body') this.order.push('body');
  }

  onComplete(trailers: string[] | null): void {
    this.completes.push(trailers);
    this.order.push('complete');
  }

  get body(): string {
    return Buffer.concat(this.pieces).toString('latin1');
  }
}

function bytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/**
 * Feeds `data` cut at `cuts`, each piece in a buffer of its own that is overwritten once execute returns (as a
 * socket's reused buffer would be); stops at the first piece not consumed whole. Returns the bytes consumed.
 */
function feed(parser: ResponseParser, data: Buffer, cuts: readonly number[] = []): number {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < data.length))].sort((a, b) => a - b);
  let consumed = 0;
  let from = 0;
  for (const to of [...points, data.length]) {
    const piece = Buffer.from(data.subarray(from, to));
    const n = parser.execute(piece);
    piece.fill(0xee);
    consumed += n;
    if (n < to - from) break;
    from = to;
  }
  return consumed;
}

function parse(text: string | Buffer, method = 'GET', limits?: ResponseParserLimits): { parser: ResponseParser; rec: Recorder; consumed: number } {
  const rec = new Recorder();
  const parser = new ResponseParser(rec, limits);
  parser.expect(method);
  const consumed = parser.execute(typeof text === 'string' ? bytes(text) : text);
  return { parser, rec, consumed };
}

function parseError(run: () => unknown): ResponseParseError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ResponseParseError);
    return err as ResponseParseError;
  }
  throw new Error('expected a ResponseParseError');
}

/** The code a response is refused with, fed whole. */
function codeOf(text: string, method = 'GET', limits?: ResponseParserLimits): string {
  return parseError(() => parse(text, method, limits)).code;
}

const CHUNKED_WITH_TRAILERS =
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n' +
  '5;name=value\r\nhello\r\n' +
  'A ; quoted="a;b"; flag\r\n, chunked!\r\n' +
  '0;last\r\nX-Sum: 42\r\nX-Other:\tx y \r\n\r\n';

describe('ResponseParser', () => {
  it('reads a Content-Length response and keeps the connection', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length:  5 \r\n\r\nhello';
    const { parser, rec, consumed } = parse(text);
    expect(consumed).toBe(text.length);
    expect(rec.heads).toEqual([[200, 'OK', ['Content-Type', 'text/plain', 'content-length', '5']]]);
    expect(rec.body).toBe('hello');
    expect(rec.completes).toEqual([null]);
    expect(rec.order).toEqual(['head', 'body', 'complete']);
    expect(parser.keepAlive).toBe(true);
    expect(parser.busy).toBe(false);
    expect(parser.keepAliveTimeoutMs).toBe(-1);
  });

  it('hands out body pieces as views into the input, not copies', () => {
    const views: Buffer[] = [];
    const parser = new ResponseParser({ onHead: () => {}, onComplete: () => {}, onBody: (chunk) => views.push(chunk) });
    parser.expect('GET');
    const input = bytes('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
    parser.execute(input);
    expect(views.map((v) => v.toString())).toEqual(['abc', 'de']);
    for (const view of views) expect(view.buffer).toBe(input.buffer);
  });

  it('reads the reason phrase as it came, empty, or absent without its space', () => {
    expect(parse('HTTP/1.1 404 Not \tFound\xe9\r\nContent-Length: 0\r\n\r\n').rec.heads[0]?.slice(0, 2)).toEqual([404, 'Not \tFound\xe9']);
    expect(parse('HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n').rec.heads[0]?.slice(0, 2)).toEqual([200, '']);
    expect(parse('HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n').rec.heads[0]?.slice(0, 2)).toEqual([200, '']);
    expect(parse('HTTP/1.1 999 x\r\nContent-Length: 0\r\n\r\n').rec.heads[0]?.[0]).toBe(999);
  });

  it('keeps header values as latin1 with OWS trimmed and names as received', () => {
    const { rec } = parse('HTTP/1.1 200 OK\r\nX-A: \t caf\xe9 au lait \t\r\nX-Empty:\r\nX-Spaces:   \r\nContent-Length: 0\r\n\r\n');
    expect(rec.heads[0]?.[2]).toEqual(['X-A', 'caf\xe9 au lait', 'X-Empty', '', 'X-Spaces', '', 'Content-Length', '0']);
  });

  it('gives a HEAD response no body whatever its Content-Length says', () => {
    const { parser, rec, consumed } = parse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1', 'HEAD');
    expect(consumed).toBe(38);
    expect(rec.order).toEqual(['head', 'complete']);
    expect(parser.keepAlive).toBe(true);
    expect(parser.execute(bytes('more'))).toBe(0);
  });

  it('gives 204 and 304 no body even with a Content-Length or Transfer-Encoding', () => {
    for (const head of ['HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n', 'HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n']) {
      const { parser, rec, consumed } = parse(`${head}hello`);
      expect(consumed).toBe(head.length);
      expect(rec.order).toEqual(['head', 'complete']);
      expect(rec.completes).toEqual([null]);
      expect(parser.keepAlive).toBe(true);
    }
  });

  it('reports interim 100 and 103 heads, then the final response', () => {
    const { parser, rec } = parse(
      'HTTP/1.1 100 Continue\r\n\r\n' +
        'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\nContent-Length: 9\r\nConnection: close\r\n\r\n' +
        'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    );
    expect(rec.heads).toEqual([
      [100, 'Continue', []],
      [103, 'Early Hints', ['Link', '</style.css>; rel=preload', 'Content-Length', '9', 'Connection', 'close']],
      [200, 'OK', ['Content-Length', '2']],
    ]);
    expect(rec.body).toBe('ok');
    expect(rec.order).toEqual(['head', 'head', 'head', 'body', 'complete']);
    // Only the final head speaks for the connection.
    expect(parser.keepAlive).toBe(true);
  });

  it('waits for the final head after an interim one that ends a buffer', () => {
    const { parser, rec, consumed } = parse('HTTP/1.1 100 Continue\r\n\r\n');
    expect(consumed).toBe(25);
    expect(parser.busy).toBe(true);
    expect(rec.completes).toEqual([]);
    expect(parser.execute(bytes('HTTP/1.1 204 No Content\r\n\r\n'))).toBe(27);
    expect(rec.heads.map((h) => h[0])).toEqual([100, 204]);
    expect(rec.completes).toEqual([null]);
  });

  it('ends at a 101 head and leaves what follows to the new protocol', () => {
    const head = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';
    const { parser, rec, consumed } = parse(`${head}\x81\x05hello`);
    expect(consumed).toBe(head.length);
    expect(rec.heads).toEqual([[101, 'Switching Protocols', ['Upgrade', 'websocket', 'Connection', 'Upgrade']]]);
    expect(rec.order).toEqual(['head', 'complete']);
    expect(parser.keepAlive).toBe(false);
    expect(parser.busy).toBe(false);
  });

  it('ends at the head of a 2xx to CONNECT, but reads the body of a refusal', () => {
    const head = 'HTTP/1.1 200 Connection Established\r\nContent-Length: 5\r\n\r\n';
    const tunnel = parse(`${head}tunnel`, 'CONNECT');
    expect(tunnel.consumed).toBe(head.length);
    expect(tunnel.rec.order).toEqual(['head', 'complete']);
    expect(tunnel.parser.keepAlive).toBe(false);
    const refused = parse('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nno', 'CONNECT');
    expect(refused.rec.body).toBe('no');
    expect(refused.parser.keepAlive).toBe(true);
  });

  it('de-chunks a body with extensions and hands over its trailers', () => {
    const { parser, rec, consumed } = parse(`${CHUNKED_WITH_TRAILERS}HTTP/1.1 200`);
    expect(consumed).toBe(CHUNKED_WITH_TRAILERS.length);
    expect(rec.heads).toEqual([[200, 'OK', ['Transfer-Encoding', 'chunked', 'Trailer', 'X-Sum']]]);
    expect(rec.body).toBe('hello, chunked!');
    expect(rec.completes).toEqual([['X-Sum', '42', 'X-Other', 'x y']]);
    expect(parser.keepAlive).toBe(true);
  });

  it('reports no trailers as null, reads chunk sizes in either case, and takes the last of repeated codings', () => {
    const { rec } = parse(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\ntransfer-encoding: Chunked\r\n\r\n000b\r\nhello world\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n',
    );
    expect(rec.body).toBe('hello worldabcdefghijklmnopqrstuvwxyz');
    expect(rec.completes).toEqual([null]);
  });

  it('gives the same events for a chunked response fed one byte at a time, or cut anywhere once', () => {
    const whole = parse(CHUNKED_WITH_TRAILERS).rec;
    const data = bytes(CHUNKED_WITH_TRAILERS);
    const everyByte = Array.from({ length: data.length }, (_, i) => i);
    const cuts = [everyByte, ...everyByte.map((i) => [i])];
    for (const cut of cuts) {
      const rec = new Recorder();
      const parser = new ResponseParser(rec);
      parser.expect('GET');
      expect(feed(parser, data, cut)).toBe(data.length);
      expect(rec.heads).toEqual(whole.heads);
      expect(rec.body).toBe(whole.body);
      expect(rec.completes).toEqual(whole.completes);
      expect(rec.order).toEqual(whole.order);
    }
  });

  it('reads a Content-Length response fed one byte at a time', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Length: 11\r\nKeep-Alive: timeout=5\r\n\r\nhello world';
    const rec = new Recorder();
    const parser = new ResponseParser(rec);
    parser.expect('GET');
    expect(feed(parser, bytes(`${text}extra`), Array.from({ length: text.length + 5 }, (_, i) => i))).toBe(text.length);
    expect(rec.body).toBe('hello world');
    expect(rec.pieces).toHaveLength(11);
    expect(parser.keepAliveTimeoutMs).toBe(5000);
  });

  it('reads a body without framing until the connection closes', () => {
    const { parser, rec, consumed } = parse('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello');
    expect(consumed).toBe(50);
    expect(parser.busy).toBe(true);
    expect(parser.execute(bytes(' world'))).toBe(6);
    expect(rec.completes).toEqual([]);
    parser.finish();
    expect(rec.body).toBe('hello world');
    expect(rec.completes).toEqual([null]);
    expect(parser.keepAlive).toBe(false);
    expect(parser.busy).toBe(false);
    parser.finish();
    expect(rec.completes).toEqual([null]);
  });

  it('reads a body until close when the last transfer coding is not chunked', () => {
    for (const te of ['gzip', 'chunked, gzip']) {
      const { parser, rec } = parse(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${te}\r\nContent-Length: 3\r\n\r\nabcdef`);
      parser.finish();
      expect(rec.body).toBe('abcdef');
      expect(parser.keepAlive).toBe(false);
    }
  });

  it('lets Transfer-Encoding win over Content-Length, and drops the connection after', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n';
    const { parser, rec, consumed } = parse(`${text}HTTP`);
    expect(consumed).toBe(text.length);
    expect(rec.body).toBe('ab');
    expect(parser.keepAlive).toBe(false);
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n', 'HEAD').parser.keepAlive).toBe(false);
  });

  it('throws HPE_INVALID_EOF_STATE when the connection ends mid-response, and not when idle or done', () => {
    const cutShort = [
      '',
      'HTTP/1.1 200',
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n',
      'HTTP/1.1 100 Continue\r\n\r\n',
    ];
    for (const text of cutShort) {
      const { parser } = parse(text);
      expect(parseError(() => parser.finish()).code).toBe('HPE_INVALID_EOF_STATE');
      expect(parser.busy).toBe(false);
    }
    const idle = new ResponseParser(new Recorder());
    idle.finish();
    expect(idle.execute(bytes('HTTP/1.1 200 OK\r\n'))).toBe(0);
    const { parser } = parse('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    parser.finish();
  });

  it('keeps an HTTP/1.0 connection only when the server says keep-alive', () => {
    expect(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').parser.keepAlive).toBe(false);
    expect(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: Keep-Alive\r\n\r\n').parser.keepAlive).toBe(true);
    expect(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive, close\r\n\r\n').parser.keepAlive).toBe(false);
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n').parser.keepAlive).toBe(true);
  });

  it('drops the connection after Connection: close, in any case and among other tokens', () => {
    for (const value of ['close', 'CLOSE', 'x-hop, Close', ' keep-alive ,close ']) {
      expect(parse(`HTTP/1.1 200 OK\r\nConnection: ${value}\r\nContent-Length: 0\r\n\r\n`).parser.keepAlive).toBe(false);
    }
    expect(parse('HTTP/1.1 200 OK\r\nConnection: closed, x-close\r\nContent-Length: 0\r\n\r\n').parser.keepAlive).toBe(true);
    expect(parse('HTTP/1.1 200 OK\r\nConnection: x\r\nconnection: close\r\nContent-Length: 0\r\n\r\n').parser.keepAlive).toBe(false);
  });

  it('reads the Keep-Alive timeout hint in ms and passes over what it cannot read', () => {
    const timeout = (value: string): number => parse(`HTTP/1.1 200 OK\r\nKeep-Alive: ${value}\r\nContent-Length: 0\r\n\r\n`).parser.keepAliveTimeoutMs;
    expect(timeout('timeout=5')).toBe(5000);
    expect(timeout('max=100, Timeout=30')).toBe(30000);
    // Node's server says timeout=0 when it keeps idle connections under a second: a hint, unlike none.
    expect(timeout('timeout=0')).toBe(0);
    expect(timeout('timeout=abc')).toBe(-1);
    expect(timeout('timeout=')).toBe(-1);
    expect(timeout('timeout=1.5')).toBe(-1);
    expect(timeout('max=5')).toBe(-1);
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').parser.keepAliveTimeoutMs).toBe(-1);
    // The final head's hint, not an interim one's.
    expect(parse('HTTP/1.1 100 Continue\r\nKeep-Alive: timeout=9\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').parser.keepAliveTimeoutMs).toBe(-1);
  });

  it('accepts repeated Content-Length values that agree', () => {
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\nhello').rec.body).toBe('hello');
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\nsevenof9').rec.body).toBe('sevenof');
  });

  it('returns the bytes of the response only, and takes a second response after expect()', () => {
    const first = 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none';
    const second = 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n';
    const data = bytes(first + second);
    const { parser, rec, consumed } = parse(data);
    expect(consumed).toBe(first.length);
    expect(parser.execute(data.subarray(consumed))).toBe(0);
    parser.expect('POST');
    expect(parser.busy).toBe(true);
    expect(parser.execute(data.subarray(consumed))).toBe(second.length);
    expect(rec.heads.map((h) => h[0])).toEqual([200, 201]);
    expect(rec.body).toBe('onetwo');
    expect(rec.completes).toEqual([null, null]);
    expect(parser.keepAlive).toBe(true);
  });

  it('stays failed after an error until expect(), then parses afresh', () => {
    const rec = new Recorder();
    const parser = new ResponseParser(rec);
    parser.expect('GET');
    const err = parseError(() => parser.execute(bytes('HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n')));
    expect(err.code).toBe('HPE_INVALID_HEADER_TOKEN');
    expect(err.name).toBe('HTTPParserError');
    expect(err).toBeInstanceOf(Error);
    expect(parser.busy).toBe(false);
    expect(parseError(() => parser.execute(bytes('HTTP/1.1 200 OK\r\n'))).code).toBe('HPE_INVALID_HEADER_TOKEN');
    parser.finish();
    parser.expect('GET');
    expect(parser.execute(bytes('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'))).toBe(38);
    expect(rec.completes).toEqual([null]);
  });

  it('stays failed when an event handler throws', () => {
    const parser = new ResponseParser({
      onHead: () => {
        throw new Error('handler');
      },
      onBody: () => {},
      onComplete: () => {},
    });
    parser.expect('GET');
    expect(() => parser.execute(bytes('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n'))).toThrow('handler');
    expect(parser.busy).toBe(false);
    expect(() => parser.execute(bytes('x'))).toThrow('handler');
  });

  describe('refuses malformed responses', () => {
    const ok = 'HTTP/1.1 200 OK\r\n';
    const chunked = `${ok}Transfer-Encoding: chunked\r\n\r\n`;
    const cases: Array<[string, string, string]> = [
      ['bare LF after the status line', 'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n', 'HPE_CR_EXPECTED'],
      ['bare LF after a field', `${ok}Content-Length: 0\n\r\n`, 'HPE_CR_EXPECTED'],
      ['bare LF ending the head', `${ok}Content-Length: 0\r\n\n`, 'HPE_CR_EXPECTED'],
      ['CR without LF in a value', `${ok}X-A: a\rb\r\n\r\n`, 'HPE_LF_EXPECTED'],
      ['CR without LF in a name', `${ok}X\r-A: a\r\n\r\n`, 'HPE_LF_EXPECTED'],
      ['CR without LF in the reason', 'HTTP/1.1 200 O\rK\r\n\r\n', 'HPE_LF_EXPECTED'],
      ['obs-fold', `${ok}X-A: a\r\n b\r\nContent-Length: 0\r\n\r\n`, 'HPE_OBS_FOLD'],
      ['obs-fold with a tab', `${ok}X-A: a\r\n\tb\r\n\r\n`, 'HPE_OBS_FOLD'],
      ['NUL in a value', `${ok}X-A: a\0b\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['DEL in a value', `${ok}X-A: a\x7f\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['space before the colon', `${ok}Content-Length : 0\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['a field without a colon', `${ok}Content-Length\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['an empty field name', `${ok}: x\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['a separator in a name', `${ok}X(A): x\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['conflicting Content-Length values', `${ok}Content-Length: 5, 6\r\n\r\nhello`, 'HPE_UNEXPECTED_CONTENT_LENGTH'],
      ['conflicting Content-Length fields', `${ok}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello`, 'HPE_UNEXPECTED_CONTENT_LENGTH'],
      ['a negative Content-Length', `${ok}Content-Length: -5\r\n\r\n`, 'HPE_INVALID_CONTENT_LENGTH'],
      ['a hex Content-Length', `${ok}Content-Length: 0x5\r\n\r\n`, 'HPE_INVALID_CONTENT_LENGTH'],
      ['a signed Content-Length', `${ok}Content-Length: +5\r\n\r\n`, 'HPE_INVALID_CONTENT_LENGTH'],
      ['a space inside Content-Length', `${ok}Content-Length: 1 0\r\n\r\n`, 'HPE_INVALID_CONTENT_LENGTH'],
      ['an empty Content-Length', `${ok}Content-Length: \r\n\r\n`, 'HPE_INVALID_CONTENT_LENGTH'],
      ['an empty Content-Length element', `${ok}Content-Length: 5,\r\n\r\n`, 'HPE_INVALID_CONTENT_LENGTH'],
      ['a Content-Length past safe integers', `${ok}Content-Length: 9007199254740992\r\n\r\n`, 'HPE_INVALID_CONTENT_LENGTH'],
      ['a malformed Content-Length on a 304', 'HTTP/1.1 304 Not Modified\r\nContent-Length: x\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH'],
      ['chunked applied twice', `${ok}Transfer-Encoding: chunked, chunked\r\n\r\n`, 'HPE_INVALID_TRANSFER_ENCODING'],
      ['chunked twice across fields', `${ok}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`, 'HPE_INVALID_TRANSFER_ENCODING'],
      ['an empty Transfer-Encoding', `${ok}Transfer-Encoding: , \r\n\r\n`, 'HPE_INVALID_TRANSFER_ENCODING'],
      ['a chunk size of 17 hex digits', `${chunked}fffffffffffffffff\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['a chunk size past safe integers', `${chunked}20000000000000\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['a chunk size that is no hex', `${chunked}xyz\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['a negative chunk size', `${chunked}-1\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['an empty chunk size line', `${chunked}\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['junk after a chunk size', `${chunked}5 x\r\nhello\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['a control byte in a chunk extension', `${chunked}5;a=\0\r\nhello\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['an oversized chunk extension', `${chunked}5;${'x'.repeat(1100)}\r\nhello\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
      ['an unended oversized chunk extension', `${chunked}5;${'x'.repeat(1100)}`, 'HPE_INVALID_CHUNK_SIZE'],
      ['a bare LF after a chunk size', `${chunked}5\nhello\r\n`, 'HPE_CR_EXPECTED'],
      ['chunk data longer than its size', `${chunked}5\r\nhelloX\r\n0\r\n\r\n`, 'HPE_CR_EXPECTED'],
      ['a bare LF after chunk data', `${chunked}5\r\nhello\n0\r\n\r\n`, 'HPE_CR_EXPECTED'],
      ['a CR without LF after chunk data', `${chunked}5\r\nhello\rX`, 'HPE_LF_EXPECTED'],
      ['obs-fold in trailers', `${chunked}0\r\nX-A: a\r\n b\r\n\r\n`, 'HPE_OBS_FOLD'],
      ['NUL in a trailer', `${chunked}0\r\nX-A: \0\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
      ['a bare LF ending the trailers', `${chunked}0\r\nX-A: a\r\n\n`, 'HPE_CR_EXPECTED'],
      ['a two-digit status', 'HTTP/1.1 20\r\n\r\n', 'HPE_INVALID_STATUS'],
      ['a four-digit status', 'HTTP/1.1 2000 OK\r\n\r\n', 'HPE_INVALID_STATUS'],
      ['a status below 100', 'HTTP/1.1 099 Low\r\n\r\n', 'HPE_INVALID_STATUS'],
      ['a status with a letter', 'HTTP/1.1 2x0 OK\r\n\r\n', 'HPE_INVALID_STATUS'],
      ['a tab after the status', 'HTTP/1.1 200\tOK\r\n\r\n', 'HPE_INVALID_STATUS'],
      ['a control byte in the reason', 'HTTP/1.1 200 O\x01K\r\n\r\n', 'HPE_INVALID_STATUS'],
      ['HTTP/2.0', 'HTTP/2.0 200 OK\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['HTTP/1.2', 'HTTP/1.2 200 OK\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['a lowercase protocol', 'http/1.1 200 OK\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['no space after the version', 'HTTP/1.1\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['an empty line before the status line', '\r\nHTTP/1.1 200 OK\r\n\r\n', 'HPE_INVALID_CONSTANT'],
      ['another protocol', 'SSH-2.0-OpenSSH_9.6', 'HPE_INVALID_CONSTANT'],
    ];
    it.each(cases)('%s', (_name, text, code) => {
      expect(codeOf(text)).toBe(code);
    });

    it('refuses a chunk size overflow arriving a byte at a time', () => {
      const rec = new Recorder();
      const parser = new ResponseParser(rec);
      parser.expect('GET');
      const data = bytes(`${chunked}fffffffffffffffff\r\n`);
      expect(parseError(() => feed(parser, data, Array.from({ length: data.length }, (_, i) => i))).code).toBe('HPE_INVALID_CHUNK_SIZE');
    });

    it('refuses another protocol before a line has ended', () => {
      const parser = new ResponseParser(new Recorder());
      parser.expect('GET');
      expect(parser.execute(bytes('HTT'))).toBe(3);
      expect(parseError(() => parser.execute(bytes('P/2'))).code).toBe('HPE_INVALID_CONSTANT');
    });
  });

  describe('limits', () => {
    it('refuses a head past maxHeaderBytes that arrives across calls, before its end comes', () => {
      const parser = new ResponseParser(new Recorder(), { maxHeaderBytes: 64 });
      parser.expect('GET');
      expect(parser.execute(bytes('HTTP/1.1 200 OK\r\nX-Long: '))).toBe(25);
      expect(parser.execute(bytes('a'.repeat(30)))).toBe(30);
      expect(parseError(() => parser.execute(bytes('a'.repeat(10)))).code).toBe('HPE_HEADER_OVERFLOW');
    });

    it('counts the head across lines and calls, and takes a head of exactly the limit', () => {
      const head = 'HTTP/1.1 200 OK\r\nX-A: 1234\r\nContent-Length: 0\r\n\r\n';
      expect(parse(head, 'GET', { maxHeaderBytes: head.length }).rec.completes).toEqual([null]);
      expect(codeOf(head, 'GET', { maxHeaderBytes: head.length - 1 })).toBe('HPE_HEADER_OVERFLOW');
      const parser = new ResponseParser(new Recorder(), { maxHeaderBytes: head.length - 1 });
      parser.expect('GET');
      const data = bytes(head);
      expect(parseError(() => feed(parser, data, Array.from({ length: data.length }, (_, i) => i))).code).toBe('HPE_HEADER_OVERFLOW');
    });

    it('refuses a head past the default 16 KiB', () => {
      const fields = Array.from({ length: 100 }, (_, i) => `X-Field-${i}: ${'v'.repeat(160)}\r\n`).join('');
      expect(codeOf(`HTTP/1.1 200 OK\r\n${fields}\r\n`)).toBe('HPE_HEADER_OVERFLOW');
    });

    it('refuses more fields than maxHeaderCount, in the head and in trailers', () => {
      const fields = (n: number): string => Array.from({ length: n }, (_, i) => `X-${i}: v\r\n`).join('');
      expect(parse(`HTTP/1.1 200 OK\r\n${fields(3)}\r\n`, 'HEAD', { maxHeaderCount: 3 }).rec.heads[0]?.[2]).toHaveLength(6);
      expect(codeOf(`HTTP/1.1 200 OK\r\n${fields(4)}\r\n`, 'HEAD', { maxHeaderCount: 3 })).toBe('HPE_HEADER_OVERFLOW');
      expect(codeOf(`HTTP/1.1 200 OK\r\n${fields(201)}\r\n`)).toBe('HPE_HEADER_OVERFLOW');
      const chunkedHead = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n';
      expect(parse(`${chunkedHead}${fields(3)}\r\n`, 'GET', { maxHeaderCount: 3 }).rec.completes[0]).toHaveLength(6);
      expect(codeOf(`${chunkedHead}${fields(4)}\r\n`, 'GET', { maxHeaderCount: 3 })).toBe('HPE_HEADER_OVERFLOW');
    });

    it('bounds the trailer section on its own', () => {
      const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
      const trailer = `X-T: ${'t'.repeat(50)}\r\n\r\n`;
      expect(parse(`${head}0\r\n${trailer}`, 'GET', { maxHeaderBytes: 64 }).rec.completes).toEqual([['X-T', 't'.repeat(50)]]);
      expect(codeOf(`${head}0\r\nX-T: ${'t'.repeat(60)}\r\n\r\n`, 'GET', { maxHeaderBytes: 64 })).toBe('HPE_HEADER_OVERFLOW');
    });

    it('bounds each interim head on its own', () => {
      const interim = 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n';
      const text = `${interim}${interim}HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n`;
      expect(parse(text, 'GET', { maxHeaderBytes: interim.length }).rec.heads).toHaveLength(3);
    });
  });

  describe('property: any well-formed response, cut anywhere, gives the events it was made of', () => {
    const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split('');
    const TEXT = ['\t', ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)), '\x80', '\xa0', '\xe9', '\xff'];
    const OWS = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 2 });
    /** Names that cannot collide with the framing and connection fields the generator writes itself. */
    const name = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 12 }).map((n) => `X-${n}`);
    const value = fc.string({ unit: fc.constantFrom(...TEXT), maxLength: 20 });
    const field = fc.record({ name, value, before: OWS, after: OWS });
    const trim = (text: string): string => text.replace(/^[ \t]+|[ \t]+$/g, '');

    const response = fc.record({
      status: fc.integer({ min: 200, max: 999 }).filter((s) => s !== 204 && s !== 304),
      reason: fc.option(fc.string({ unit: fc.constantFrom(...TEXT), maxLength: 20 }), { nil: undefined }),
      fields: fc.array(field, { maxLength: 6 }),
      body: fc.uint8Array({ maxLength: 200 }),
      chunked: fc.boolean(),
      chunkCuts: fc.array(fc.nat(), { maxLength: 6 }),
      extension: fc.option(fc.string({ unit: fc.constantFrom(...TCHARS, '=', ';', ' '), maxLength: 10 }), { nil: undefined }),
      upperHex: fc.boolean(),
      trailers: fc.array(field, { maxLength: 3 }),
      after: fc.uint8Array({ maxLength: 8 }),
      cuts: fc.array(fc.nat(), { maxLength: 12 }),
    });

    it('parses as generated', () => {
      fc.assert(
        fc.property(response, (r) => {
          const headers: string[] = [];
          let text = r.reason === undefined ? `HTTP/1.1 ${r.status}\r\n` : `HTTP/1.1 ${r.status} ${r.reason}\r\n`;
          for (const f of r.fields) {
            text += `${f.name}:${f.before}${f.value}${f.after}\r\n`;
            headers.push(f.name, trim(f.value));
          }
          const framing = r.chunked ? ['Transfer-Encoding', 'chunked'] : ['Content-Length', String(r.body.length)];
          text += `${framing[0]}: ${framing[1]}\r\n\r\n`;
          headers.push(...framing);
          const parts: Buffer[] = [bytes(text)];
          let trailers: string[] | null = null;
          if (!r.chunked) {
            parts.push(Buffer.from(r.body));
          } else {
            const bounds = [...new Set(r.chunkCuts.map((c) => c % (r.body.length + 1)))].filter((c) => c > 0).sort((a, b) => a - b);
            let from = 0;
            for (const to of [...bounds, r.body.length]) {
              if (to === from) continue;
              const size = (to - from).toString(16);
              const ext = r.extension === undefined ? '' : `;${r.extension}`;
              parts.push(bytes(`${r.upperHex ? size.toUpperCase() : size}${ext}\r\n`), Buffer.from(r.body.subarray(from, to)), bytes('\r\n'));
              from = to;
            }
            let tail = '0\r\n';
            for (const f of r.trailers) {
              tail += `${f.name}:${f.before}${f.value}${f.after}\r\n`;
              (trailers ??= []).push(f.name, trim(f.value));
            }
            parts.push(bytes(`${tail}\r\n`));
          }
          const message = Buffer.concat(parts);
          const data = Buffer.concat([message, r.after]);

          const rec = new Recorder();
          const parser = new ResponseParser(rec);
          parser.expect('GET');
          expect(feed(parser, data, r.cuts.map((c) => c % (data.length + 1)))).toBe(message.length);
          expect(rec.heads).toEqual([[r.status, r.reason ?? '', headers]]);
          expect(Buffer.concat(rec.pieces).equals(Buffer.from(r.body))).toBe(true);
          expect(rec.completes).toEqual([trailers]);
          expect(parser.busy).toBe(false);
          expect(parser.keepAlive).toBe(true);
        }),
        { numRuns: 300 },
      );
    });
  });
});
