// Inbound: the request headers an app gets after JWT authentication — client-set claim headers and the consumed token removed, verified claims added.
import { sameHeaderName } from '../security/authz/index.js';
import type { JwtAccepted } from '../security/jwt/index.js';

/** `raw` is a flat [name, value, ...] list as received (any case); returns `raw` itself when nothing changes. */
export function withJwtHeaders(raw: string[], accepted: JwtAccepted): string[] {
  const { removeHeaders, forwardHeaders } = accepted;
  if (removeHeaders.length === 0 && forwardHeaders.length === 0) return raw;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (removeHeaders.some((listed) => sameHeaderName(name, listed))) continue;
    out.push(name, raw[i + 1]!);
  }
  for (const [name, value] of forwardHeaders) out.push(name, value);
  return out;
}
