// Transport/http1: requests a listener answers itself instead of forwarding — `OPTIONS *`, upgrades it cannot carry, a `*` target elsewhere, an invalid Host, faulty framing.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NotImplementedError, WeftError } from '../../core/index.js';
import { isAbsoluteForm, targetAuthority } from './request-target.js';

/** What a listener should do with a request before routing it: forward it, answer `OPTIONS *` itself, or refuse it. */
export type Screened = 'forward' | 'options-asterisk' | WeftError;

/** The methods a weft listener carries, as `OPTIONS *` announces them. */
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/**
 * Connections that close after a refusal: one whose message had faulty framing, or that asked to switch protocols.
 * Node parses on past such a message and hands over what follows as further requests (even once the socket is
 * destroyed): none of them may be forwarded.
 */
const closing = new WeakSet<object>();

/** Characters of a reg-name (RFC 3986 3.2.2: unreserved, sub-delims, and `%` of a percent-encoding), by char code. */
const REG_NAME = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%") REG_NAME[c.charCodeAt(0)] = 1;
/** Characters inside the brackets of an IP literal. */
const IP_LITERAL = new Uint8Array(128);
for (const c of '0123456789abcdefABCDEF:.') IP_LITERAL[c.charCodeAt(0)] = 1;

/**
 * Whether a Host value is `uri-host [":" port]` (RFC 9112 3.2, RFC 3986 3.2.2): a bracketed IP literal or a reg-name,
 * then an optional port. The next hop's client reads it too; one it refuses would be blamed on the endpoint.
 * A loop over a table rather than a regular expression: it runs for every request.
 */
export function isHostField(text: string): boolean {
  let i = 0;
  const n = text.length;
  if (n > 0 && text.charCodeAt(0) === 0x5b /* [ */) {
    i = 1;
    while (i < n && text.charCodeAt(i) !== 0x5d /* ] */) {
      const c = text.charCodeAt(i);
      if (c >= 128 || IP_LITERAL[c] === 0) return false;
      i++;
    }
    if (i === n) return false;
    i++;
  } else {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x3a /* : */) break;
      if (c >= 128 || REG_NAME[c] === 0) return false;
      i++;
    }
  }
  if (i === n) return true;
  if (text.charCodeAt(i) !== 0x3a /* : */) return false;
  for (i++; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * `OPTIONS *` asks about the server, not a resource, and no pool can send a `*` target on: the listener answers it.
 * An upgrade to h2c may be ignored (RFC 9110 7.8: the server then answers in HTTP/1.1); any other upgrade, such as a
 * WebSocket, is refused plainly rather than stripped and served as a plain request the client did not ask for.
 * A request that asked to upgrade, or whose framing was faulty, closes its connection after the answer, forwarded or
 * not: Node stops reading requests at an upgrade, and what follows faulty framing cannot be read as requests.
 */
export function screenRequest(req: IncomingMessage, res: ServerResponse): Screened {
  const socket = req.socket;
  if (closing.has(socket)) return closeAfter(res, new WeftError('BAD_REQUEST', 'the connection was refused a request before this one: it is closing'));
  const headers = req.headers;
  // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing, whatever Node made of it.
  if (req.httpVersionMinor === 0 && req.httpVersionMajor === 1 && headers['transfer-encoding'] !== undefined) {
    closing.add(socket);
    return closeAfter(res, new WeftError('BAD_REQUEST', 'Transfer-Encoding in an HTTP/1.0 request: its framing is faulty'));
  }
  const upgrade = headers.upgrade;
  if (upgrade !== undefined) {
    closing.add(socket);
    res.shouldKeepAlive = false;
    if (!onlyH2c(upgrade)) return new NotImplementedError(`Upgrade to "${upgrade.slice(0, 64)}"`);
  }
  const url = req.url ?? '';
  // A Host the next hop cannot read would be blamed on it: RFC 9112 3.2 answers an invalid one with 400.
  const host = isAbsoluteForm(url) ? targetAuthority(url) : headers.host;
  if (host !== undefined && !isHostField(host)) return new WeftError('BAD_REQUEST', `the Host "${host.slice(0, 64)}" is not host[:port]`);
  if (url === '*') return req.method === 'OPTIONS' ? 'options-asterisk' : new WeftError('BAD_REQUEST', `the asterisk target is for OPTIONS only, not ${req.method ?? ''}`);
  return 'forward';
}

function closeAfter(res: ServerResponse, error: WeftError): WeftError {
  res.shouldKeepAlive = false;
  return error;
}

/**
 * What a listener does with a request that asks to upgrade (node:http hands those over apart, with the raw socket):
 * carry it as a tunnel, serve it as a plain request when the only offer is h2c (which a server may ignore), or refuse it.
 * A tunnel's body is the connection itself after the switch, so a request that also announces a body is refused.
 */
export function screenUpgrade(req: IncomingMessage): 'tunnel' | 'plain' | WeftError {
  const headers = req.headers;
  const upgrade = headers.upgrade ?? '';
  const url = req.url ?? '';
  const host = isAbsoluteForm(url) ? targetAuthority(url) : headers.host;
  if (host !== undefined && !isHostField(host)) return new WeftError('BAD_REQUEST', `the Host "${host.slice(0, 64)}" is not host[:port]`);
  if (url === '*') return new WeftError('BAD_REQUEST', 'the asterisk target cannot be upgraded');
  const length = headers['content-length'];
  if (headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) {
    return new WeftError('BAD_REQUEST', 'a request that asks to upgrade cannot carry a body through this listener');
  }
  if (upgrade === '' || onlyH2c(upgrade)) return 'plain';
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor !== 1) return new WeftError('BAD_REQUEST', 'Upgrade needs HTTP/1.1');
  return 'tunnel';
}

function onlyH2c(upgrade: string): boolean {
  return upgrade.split(',').every((token) => token.trim().toLowerCase() === 'h2c');
}

export function answerOptionsAsterisk(res: ServerResponse): void {
  res.writeHead(204, ['allow', ALLOWED_METHODS]);
  res.end();
}

/** Whether the raw header list holds Host more than once (Node keeps only the first in req.headers). */
export function hasSecondHost(raw: readonly string[]): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}
