// Transport/http1: strips hop-by-hop headers from raw header lists before they cross the proxy.

/** Headers that describe one connection only (RFC 9110 7.6.1), besides those the Connection header names. */
function isHopByHop(name: string): boolean {
  // Compare lengths first: most headers are rejected without lowercasing.
  switch (name.length) {
    case 2:
      return name.toLowerCase() === 'te';
    case 7: {
      const lower = name.toLowerCase();
      return lower === 'trailer' || lower === 'upgrade' || isProxyHeader(name);
    }
    case 10: {
      const lower = name.toLowerCase();
      return lower === 'connection' || lower === 'keep-alive' || isProxyHeader(name);
    }
    case 17:
      return name.toLowerCase() === 'transfer-encoding' || isProxyHeader(name);
    default:
      return name.length > 6 && isProxyHeader(name);
  }
}

function isProxyHeader(name: string): boolean {
  const c = name.charCodeAt(0) | 0x20;
  return c === 0x70 /* p */ && name.charCodeAt(5) === 0x2d /* - */ && name.slice(0, 6).toLowerCase() === 'proxy-';
}

/** Header names listed in Connection values, other than the usual keep-alive and close; null when none. */
function connectionListed(raw: readonly string[]): Set<string> | null {
  let listed: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    const value = raw[i + 1]!;
    if (value.length <= 10) {
      const lower = value.toLowerCase();
      if (lower === 'keep-alive' || lower === 'close') continue;
    }
    for (const token of value.split(',')) {
      const t = token.trim().toLowerCase();
      if (t !== '' && t !== 'keep-alive' && t !== 'close') (listed ??= new Set()).add(t);
    }
  }
  return listed;
}

/** What the request headers say about its body, learnt while copying them. */
export interface RequestHeadInfo {
  /** The forwarded headers, in raw [name, value, ...] form. */
  headers: string[];
  /** The request carries a body (non-zero Content-Length, or Transfer-Encoding). */
  hasBody: boolean;
}

/**
 * Copies request headers without the hop-by-hop ones. A body without Content-Length (chunked) is framed
 * as chunked again on the next hop by the connection pool, so Transfer-Encoding only marks the body.
 * `Expect: 100-continue` was answered by our own server already: the next hop gets the body at once.
 */
export function forwardRequestHeaders(raw: readonly string[]): RequestHeadInfo {
  const listed = connectionListed(raw);
  const headers: string[] = [];
  let hasBody = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      if (value !== '0') hasBody = true;
    } else if (isHopByHop(name)) {
      if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') hasBody = true;
      continue;
    } else if (name.length === 6 && name.toLowerCase() === 'expect') {
      continue;
    } else if (listed !== null && listed.has(name.toLowerCase())) {
      continue;
    }
    headers.push(name, value);
  }
  return { headers, hasBody };
}

/** Copies response headers without the hop-by-hop ones; the server frames the body for its own client. */
export function forwardResponseHeaders(raw: readonly string[]): string[] {
  const listed = connectionListed(raw);
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (isHopByHop(name) || (listed !== null && listed.has(name.toLowerCase()))) continue;
    headers.push(name, raw[i + 1]!);
  }
  return headers;
}
