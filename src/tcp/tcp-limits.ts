// TCP: the limits of the sidecar's TCP ports (idle timeout, connection cap, connect timeout and attempts, TLS detection), their defaults and bounds.
import { ValidationError } from '../core/index.js';

export interface TcpLimits {
  /** A connection with no byte moving in either direction for this long is closed (both sockets destroyed). */
  readonly idleTimeoutMs: number;
  /** Connections open at once on one port; one accepted beyond it is closed at once and counted. */
  readonly maxConnections: number;
  /** A connection to an endpoint or to the app not up within this long fails; for mTLS, the handshake included. */
  readonly connectTimeoutMs: number;
  /** Endpoints tried in turn for one accepted connection before it is given up (outbound). */
  readonly connectAttempts: number;
  /**
   * Permissive inbound port: how long to wait for the caller's first byte before taking the connection as
   * plaintext. A TLS client sends its ClientHello at once; a client of a server-speaks-first protocol (SMTP,
   * MySQL, Redis' replicas) sends nothing until greeted, and must not wait longer than this for its greeting.
   */
  readonly detectTimeoutMs: number;
  /** Strict or permissive inbound port: a TLS client must finish its handshake (first byte included) within this time. */
  readonly handshakeTimeoutMs: number;
}

export const TCP_LIMIT_DEFAULTS: TcpLimits = {
  // An hour, as Envoy's TCP proxy: database and broker connections sit quiet for long stretches.
  idleTimeoutMs: 3_600_000,
  maxConnections: 10_000,
  connectTimeoutMs: 1_000,
  connectAttempts: 3,
  detectTimeoutMs: 100,
  handshakeTimeoutMs: 10_000,
};

/** Bounds of each setting, for flags and config files as well as this module. */
export const TCP_LIMIT_BOUNDS = {
  idleTimeoutMs: { min: 100, max: 86_400_000 },
  maxConnections: { min: 1, max: 1_000_000 },
  connectTimeoutMs: { min: 10, max: 60_000 },
  connectAttempts: { min: 1, max: 10 },
  detectTimeoutMs: { min: 10, max: 10_000 },
  handshakeTimeoutMs: { min: 100, max: 600_000 },
} as const satisfies Record<keyof TcpLimits, { min: number; max: number }>;

export type TcpLimitOverrides = { readonly [K in keyof TcpLimits]?: number | undefined };

/** The defaults with each given setting in their place; a value that is not a whole number within its bounds is a ValidationError. */
export function resolveTcpLimits(overrides: TcpLimitOverrides = {}): TcpLimits {
  const out: { -readonly [K in keyof TcpLimits]: number } = { ...TCP_LIMIT_DEFAULTS };
  for (const key of Object.keys(TCP_LIMIT_BOUNDS) as (keyof TcpLimits)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    const { min, max } = TCP_LIMIT_BOUNDS[key];
    if (!Number.isInteger(value) || value < min || value > max) throw new ValidationError(key, `expected a whole number from ${min} to ${max}`);
    out[key] = value;
  }
  return out;
}
