// Security/JWT: how long a fetched JWKS may be kept, read from the reply's Cache-Control and held within bounds.

/** The `max-age` of a Cache-Control value in seconds; `no-store`/`no-cache` count as 0; undefined when it says neither. */
export function cacheControlMaxAge(header: string | null): number | undefined {
  if (header === null) return undefined;
  let maxAge: number | undefined;
  for (const directive of header.split(',')) {
    const [rawName, rawValue] = directive.split('=', 2);
    const name = rawName?.trim().toLowerCase();
    if (name === 'no-store' || name === 'no-cache') return 0;
    if (name === 'max-age' && rawValue !== undefined) {
      const seconds = Number(rawValue.trim().replace(/^"|"$/g, ''));
      if (Number.isInteger(seconds) && seconds >= 0) maxAge = seconds;
    }
  }
  return maxAge;
}

export interface RefreshBounds {
  /** Used when the reply names no max-age. */
  readonly defaultMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

/**
 * Milliseconds until the next scheduled refresh. The lower bound keeps an issuer that says `no-cache` from being
 * fetched on every tick; the upper bound keeps a removed (revoked) key from living on for days.
 */
export function refreshDelayMs(maxAgeSeconds: number | undefined, bounds: RefreshBounds): number {
  const wanted = maxAgeSeconds === undefined ? bounds.defaultMs : maxAgeSeconds * 1000;
  return Math.min(bounds.maxMs, Math.max(bounds.minMs, wanted));
}
