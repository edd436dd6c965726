// Bench (registry): the messages between the harness and its load processes (registration load, watchers).
import type { LatencySummary } from './latency-stats.js';

/**
 * Where a load process sends its traffic: a weft control plane's HTTP API, or etcd itself. `token` is the admin token
 * every request to weft carries (its API refuses anonymous reads and writes); absent under `weft control --dev`.
 */
export type Target = { kind: 'weft'; url: string; token?: string } | { kind: 'etcd'; endpoints: string[] };

export interface RegisterRequest {
  type: 'register';
  target: Target;
  instances: number;
  services: number;
  concurrency: number;
}

export interface RegistrationResult {
  requests: number;
  errors: number;
  /** First error message, for the report. */
  firstError?: string;
  seconds: number;
  requestsPerSec: number;
  latencyMs: LatencySummary;
}

export interface WatchStart {
  type: 'watch';
  target: Target;
  watchers: number;
  /** Tagged writes the matrix has room for (sequence numbers 0..capacity-1). */
  capacity: number;
  /** Weft: resume every stream from this version (the registry's current one), so no watcher needs the full state. */
  since?: number;
  /** etcd: clients the watchers are spread over. */
  etcdClients: number;
}

export type WatchCommand =
  | WatchStart
  /** How many (write, watcher) pairs in [from, to) are still unseen. */
  | { type: 'unseen'; from: number; to: number }
  /** The latency matrix of writes [from, to) and the counters so far. */
  | { type: 'collect'; from: number; to: number };

export interface WatchCounters {
  /** Streams (re)opened after the first connect: the server cut them off or they failed. */
  reconnects: number;
  /** Full-state events received after the stream was caught up. */
  resets: number;
  errors: number;
  firstError?: string;
  bytes: number;
  lines: number;
}

export type WatchReply =
  | { type: 'ready'; connected: number }
  | { type: 'unseen'; unseen: number }
  | { type: 'collect'; latencies: Float64Array; watchers: number; counters: WatchCounters }
  | { type: 'failed'; message: string };
