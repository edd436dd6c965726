// Transport/http1: the head of a request as the client side writes it — request line, headers, Host and body framing — checked before any byte goes out.
import type { Readable } from 'node:stream';
import { isHeaderToken, isWritableHeaderValue } from '../../model/index.js';

/** A request this side will not write: the bytes would not be the request the stages meant (a bug upstream of here, not the endpoint's fault). */
export class UnwritableRequestError extends Error {
  readonly code = 'ERR_WEFT_UNWRITABLE_REQUEST';
}

export interface RequestHead {
  readonly text: string;
  /** The body is a stream of unknown length, each chunk framed by the writer; otherwise exactly `contentLength` bytes follow. */
  readonly chunked: boolean;
  /** The length the head announces; -1 when chunked. */
  readonly contentLength: number;
}

/** Methods whose requests announce an empty body rather than none (RFC 9110 8.6: a user agent should send Content-Length 0). */
function expectsBody(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH';
}

/** Names this side writes itself or that describe one connection: from a stage, they would contradict the framing written here. */
function isConnectionLevel(name: string): boolean {
  switch (name.length) {
    case 2:
      return name.toLowerCase() === 'te';
    case 6:
      return name.toLowerCase() === 'expect';
    case 7:
      return name.toLowerCase() === 'upgrade';
    case 10: {
      const lower = name.toLowerCase();
      return lower === 'connection' || lower === 'keep-alive';
    }
    case 17:
      return name.toLowerCase() === 'transfer-encoding';
    default:
      return false;
  }
}

/** A request target writable on the request line: no whitespace or control characters that would split it. */
function isWritableTarget(path: string): boolean {
  if (path.length === 0) return false;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

/**
 * The head for `headers` (hop-by-hop ones already removed) and a body: Host from `defaultHost` when the request has
 * none (an HTTP/1.0 client's), Content-Length from a whole body, chunked framing for a stream of unknown length.
 */
export function requestHead(method: string, path: string, headers: readonly string[], defaultHost: string, body: Readable | Buffer | null, upgrade: string | null = null): RequestHead {
  if (!isHeaderToken(method)) throw new UnwritableRequestError('the request method is not a token');
  if (!isWritableTarget(path)) throw new UnwritableRequestError('the request target has whitespace or control characters');
  let text = `${method} ${path} HTTP/1.1\r\n`;
  let hasHost = false;
  let declaredLength = -1;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!isHeaderToken(name) || !isWritableHeaderValue(value)) throw new UnwritableRequestError(`header ${JSON.stringify(name.slice(0, 64))} cannot be written`);
    if (name.length === 4) {
      if (name.toLowerCase() === 'host') hasHost = true;
    } else if (isConnectionLevel(name)) {
      throw new UnwritableRequestError(`header ${name} belongs to a connection, and this side frames the request itself`);
    } else if (name.length === 14 && name.toLowerCase() === 'content-length') {
      const length = Number(value);
      if (!/^\d{1,15}$/.test(value) || (declaredLength !== -1 && declaredLength !== length)) throw new UnwritableRequestError('conflicting or invalid Content-Length');
      if (declaredLength !== -1) continue;
      declaredLength = length;
    }
    text += `${name}: ${value}\r\n`;
  }
  if (!hasHost) text += `host: ${defaultHost}\r\n`;
  if (upgrade !== null) {
    // The connection-level pair of an Upgrade is this side's to write, for this connection; what follows a 101 is the tunnel's, unframed.
    if (!isWritableHeaderValue(upgrade) || upgrade === '') throw new UnwritableRequestError('the Upgrade protocol cannot be written');
    return { text: `${text}connection: upgrade\r\nupgrade: ${upgrade}\r\n\r\n`, chunked: false, contentLength: 0 };
  }
  if (body === null) {
    if (declaredLength > 0) throw new UnwritableRequestError('the request announces a body it does not have');
    if (declaredLength === -1 && expectsBody(method)) text += 'content-length: 0\r\n';
    return { text: `${text}\r\n`, chunked: false, contentLength: declaredLength === -1 ? 0 : declaredLength };
  }
  if (Buffer.isBuffer(body)) {
    if (declaredLength === -1) text += `content-length: ${body.length}\r\n`;
    else if (declaredLength !== body.length) throw new UnwritableRequestError('the kept body is not the length the request announces');
    return { text: `${text}\r\n`, chunked: false, contentLength: body.length };
  }
  if (declaredLength !== -1) return { text: `${text}\r\n`, chunked: false, contentLength: declaredLength };
  return { text: `${text}transfer-encoding: chunked\r\n\r\n`, chunked: true, contentLength: -1 };
}
