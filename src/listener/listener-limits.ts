// Listener: the limits every weft listener keeps (head, request and idle timeouts, a connection cap), with their defaults and checks.

export interface ListenerLimits {
  /** The head of each request (request line and headers) must arrive within this time, or the connection gets 408: slowloris is cut here. */
  readonly headersTimeoutMs: number;
  /** A whole request, body included, must arrive within this time (0: no limit, for long uploads). */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this time. */
  readonly idleTimeoutMs: number;
  /** Connections open at once; one accepted beyond it is closed at once and counted as refused. */
  readonly maxConnections: number;
}

export const LISTENER_LIMIT_DEFAULTS: ListenerLimits = {
  headersTimeoutMs: 10_000,
  // Node's own default: long enough for large uploads through a sidecar, short enough to free a stalled one.
  requestTimeoutMs: 300_000,
  idleTimeoutMs: 10_000,
  maxConnections: 10_000,
};

/** The admin listener serves a few operators, probes and scrapers, never the mesh's traffic. */
export const ADMIN_LISTENER_LIMIT_DEFAULTS: ListenerLimits = { ...LISTENER_LIMIT_DEFAULTS, idleTimeoutMs: 5_000, maxConnections: 256 };

/** Bounds of each setting, shared by the flags and the config files that set them. */
export const LISTENER_LIMIT_BOUNDS = {
  headersTimeoutMs: { min: 100, max: 600_000 },
  requestTimeoutMs: { min: 0, max: 86_400_000 },
  idleTimeoutMs: { min: 100, max: 3_600_000 },
  maxConnections: { min: 1, max: 1_000_000 },
} as const satisfies Record<keyof ListenerLimits, { min: number; max: number }>;

/** `base` with each setting `overrides` gives (an undefined one keeps the base's). */
export function withLimits(base: ListenerLimits, overrides: { readonly [K in keyof ListenerLimits]?: number | undefined } | undefined): ListenerLimits {
  if (overrides === undefined) return base;
  const out: { -readonly [K in keyof ListenerLimits]: number } = { ...base };
  for (const key of Object.keys(LISTENER_LIMIT_BOUNDS) as (keyof ListenerLimits)[]) {
    const value = overrides[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * Node measures the head timeout against the whole-request one and refuses a head timeout longer than it; a
 * request timeout of 0 means none. The head timeout is therefore capped by a non-zero request timeout.
 */
export function effectiveHeadersTimeout(limits: ListenerLimits): number {
  return limits.requestTimeoutMs > 0 ? Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) : limits.headersTimeoutMs;
}
