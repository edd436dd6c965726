// Proxy: the request headers an app gets after JWT authentication — client-set claim headers and the consumed token removed, verified claims added.
import type { JwtAccepted } from '../security/jwt/index.js';

/** `raw` is a flat [name, value, ...] list as received (any case); returns `raw` itself when nothing changes. */
export function withJwtHeaders(raw: string[], accepted: JwtAccepted): string[] {
  const { removeHeaders, forwardHeaders } = accepted;
  if (removeHeaders.length === 0 && forwardHeaders.length === 0) return raw;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (removeHeaders.length > 0 && isListed(removeHeaders, name)) continue;
    out.push(name, raw[i + 1]!);
  }
  for (const [name, value] of forwardHeaders) out.push(name, value);
  return out;
}

/** `names` are lower case; lower-cases `name` only when a length matches. */
function isListed(names: readonly string[], name: string): boolean {
  let lower: string | undefined;
  for (const listed of names) {
    if (listed.length !== name.length) continue;
    lower ??= name.toLowerCase();
    if (listed === lower) return true;
  }
  return false;
}
