// Transport/http1: requests a listener answers itself instead of forwarding — `OPTIONS *`, upgrades it cannot carry, a `*` target elsewhere.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NotImplementedError, WeftError } from '../../core/index.js';

/** What a listener should do with a request before routing it: forward it, answer `OPTIONS *` itself, or refuse it. */
export type Screened = 'forward' | 'options-asterisk' | WeftError;

/** The methods a weft listener carries, as `OPTIONS *` announces them. */
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/**
 * `OPTIONS *` asks about the server, not a resource, and no pool can send a `*` target on: the listener answers it.
 * An upgrade to h2c may be ignored (RFC 9110 7.8: the server then answers in HTTP/1.1); any other upgrade, such as a
 * WebSocket, is refused plainly rather than stripped and served as a plain request the client did not ask for.
 */
export function screenRequest(req: IncomingMessage): Screened {
  if (req.url === '*') return req.method === 'OPTIONS' ? 'options-asterisk' : new WeftError('BAD_REQUEST', `the asterisk target is for OPTIONS only, not ${req.method ?? ''}`);
  const upgrade = req.headers.upgrade;
  if (upgrade !== undefined && !onlyH2c(upgrade)) return new NotImplementedError(`Upgrade to "${upgrade.slice(0, 64)}"`);
  return 'forward';
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
