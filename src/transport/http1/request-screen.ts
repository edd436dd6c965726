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

/**
 * RFC 9112 3.2, RFC 3986 3.2.2: `uri-host [":" port]`, the host an IP literal in brackets or a reg-name (an IPv4
 * address, a name) of unreserved, percent-encoded and sub-delims characters. The next hop's client reads it too.
 */
const HOST_FIELD = /^(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[\w.~!$&'()*+,;=:-]+\]|(?:[\w.~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*)(?::\d*)?$/;

/**
 * `OPTIONS *` asks about the server, not a resource, and no pool can send a `*` target on: the listener answers it.
 * An upgrade to h2c may be ignored (RFC 9110 7.8: the server then answers in HTTP/1.1); any other upgrade, such as a
 * WebSocket, is refused plainly rather than stripped and served as a plain request the client did not ask for.
 */
export function screenRequest(req: IncomingMessage): Screened {
  if (closing.has(req.socket)) return new WeftError('BAD_REQUEST', 'the connection was refused a request before this one: it is closing');
  // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing, whatever Node made of it.
  if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0 && req.headers['transfer-encoding'] !== undefined) {
    closing.add(req.socket);
    return new WeftError('BAD_REQUEST', 'Transfer-Encoding in an HTTP/1.0 request: its framing is faulty');
  }
  // A Host the next hop cannot read would be blamed on it: RFC 9112 3.2 answers an invalid one with 400.
  const host = isAbsoluteForm(req.url ?? '') ? targetAuthority(req.url ?? '') : req.headers.host;
  if (host !== undefined && !HOST_FIELD.test(host)) return new WeftError('BAD_REQUEST', `the Host "${host.slice(0, 64)}" is not host[:port]`);
  if (req.url === '*') return req.method === 'OPTIONS' ? 'options-asterisk' : new WeftError('BAD_REQUEST', `the asterisk target is for OPTIONS only, not ${req.method ?? ''}`);
  const upgrade = req.headers.upgrade;
  if (upgrade !== undefined && !onlyH2c(upgrade)) {
    closing.add(req.socket);
    return new NotImplementedError(`Upgrade to "${upgrade.slice(0, 64)}"`);
  }
  return 'forward';
}

/**
 * Whether the connection of a refused request closes after the refusal: a client that asked to switch protocols may
 * send the new protocol's bytes next, and the bytes after faulty framing cannot be read as requests.
 */
export function closesAfterRefusal(req: IncomingMessage): boolean {
  return closing.has(req.socket);
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
