// Model: the stats and topology APIs (GET /api/v1/stats, /api/v1/topology) — golden metrics per service, instance and edge, and where sidecars expose them.

/** Instance meta key under which a sidecar registers its admin address (host:port), so the control plane can scrape /metrics. */
export const ADMIN_META_KEY = 'weft.admin';

export const STATS_DEFAULTS = {
  windowSeconds: 10,
  maxWindowSeconds: 600,
} as const;

/** Latency quantiles in milliseconds; null when no request finished in the window. */
export interface LatencyQuantiles {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

/** Golden metrics of one service, or one instance of it, over the window, as its own sidecars' inbound side saw them. */
export interface StatsRow {
  readonly service: string;
  /** Present on per-instance rows. */
  readonly instance?: string;
  /** Requests finished within the window. */
  readonly requests: number;
  /** Requests classified as a success: answered below 500 (a 499 client-gone or a broken response is a failure). */
  readonly successes: number;
  /** successes / requests; null without requests. */
  readonly successRate: number | null;
  readonly rps: number;
  readonly latencyMs: LatencyQuantiles;
  /** Sidecars whose samples make up this row. */
  readonly sidecars: number;
  /** Connections open from peers to these sidecars' inbound listeners at the newest sample. */
  readonly tcpConnections: number;
}

export interface StatsSkipped {
  readonly service: string;
  readonly instance: string;
  readonly admin: string;
  /** "unreachable: ..." or "warming up: no earlier sample yet". */
  readonly reason: string;
}

/** Reply of GET /api/v1/stats?window=10s[&service=S][&by=instance]. */
export interface StatsReply {
  readonly version: number;
  /** Always "inbound": a service's numbers are what its own sidecars served. */
  readonly direction: 'inbound';
  /** The window asked for, in seconds. */
  readonly windowSeconds: number;
  readonly by: 'service' | 'instance';
  readonly rows: readonly StatsRow[];
  readonly skipped: readonly StatsSkipped[];
}

/** Calls from one service to another over the window, as the calling service's sidecars sent them (outbound). */
export interface TopologyEdge {
  readonly source: string;
  readonly destination: string;
  /** Requests finished within the window, whatever answered them (the destination, or the calling sidecar itself). */
  readonly requests: number;
  /** Requests classified as a success: answered below 500 (a 499 client-gone or a broken response is a failure). */
  readonly successes: number;
  /** successes / requests; null without requests. */
  readonly successRate: number | null;
  readonly rps: number;
  readonly latencyMs: LatencyQuantiles;
}

/** Reply of GET /api/v1/topology?window=10s: who called whom, from every sidecar's outbound counters. */
export interface TopologyReply {
  readonly version: number;
  /** The window asked for, in seconds. */
  readonly windowSeconds: number;
  /** Edges with at least one request in the window, sorted by source then destination. */
  readonly edges: readonly TopologyEdge[];
  readonly skipped: readonly StatsSkipped[];
}

export interface StatsQuery {
  readonly windowSeconds?: number;
  readonly service?: string;
  readonly byInstance?: boolean;
}

export function statsPath(query: StatsQuery = {}): string {
  const params = new URLSearchParams();
  if (query.windowSeconds !== undefined) params.set('window', `${query.windowSeconds}s`);
  if (query.service !== undefined) params.set('service', query.service);
  if (query.byInstance) params.set('by', 'instance');
  const text = params.toString();
  return `/api/v1/stats${text ? `?${text}` : ''}`;
}

export function topologyPath(query: Pick<StatsQuery, 'windowSeconds'> = {}): string {
  return `/api/v1/topology${query.windowSeconds === undefined ? '' : `?window=${query.windowSeconds}s`}`;
}
