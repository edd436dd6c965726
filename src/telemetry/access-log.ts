// Telemetry: the sidecar's access log — one JSON line per sampled request, written by pino to an asynchronous destination.
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Clock, Rng } from '../core/index.js';
import type { HeaderMap } from '../http/index.js';
import type { ProxyDirection } from './proxy-metrics.js';

/** One access-log line; docs/observability.md describes every field. */
export interface AccessRecord {
  time: string;
  direction: ProxyDirection;
  method: string;
  authority: string;
  path: string;
  status: number;
  duration_ms: number;
  bytes_in: number;
  bytes_out: number;
  upstream: string;
  upstream_instance: string;
  attempts: number;
  retries: number;
  response_flags: string;
  trace_id: string;
  source: string;
  destination: string;
  /** Present for gRPC calls only. */
  grpc_status?: number;
}

/** What an exchange knows when it closes; turned into a record only for sampled requests. */
export interface ExchangeFacts {
  direction: ProxyDirection;
  /** The request's headers, for its authority and, untraced, its own traceparent. */
  headers: HeaderMap;
  method: string;
  path: string;
  /** Clock.now() when the request arrived. */
  startedAt: number;
  status: number;
  bytesIn: number;
  bytesOut: number;
  upstream: string;
  upstreamInstance: string;
  attempts: number;
  responseFlags: string;
  /** The trace the sidecar's span belongs to when tracing; absent, the request's own traceparent is logged. */
  traceId?: string | undefined;
  source: string;
  destination: string;
  /** A gRPC call's grpc-status; absent for other requests. */
  grpcStatus?: number | undefined;
}

export interface AccessLogOptions {
  /** File appended to; '-' is stdout; absent writes no file (records may still be forwarded). */
  path?: string;
  /** Share of requests logged, 0-1; the runtime's Rng draws once per request. */
  sample?: number;
  rng: Rng;
  clock: Clock;
  /** Receives every sampled record as an object too, e.g. the Fluent forwarder. */
  forward?: (record: AccessRecord) => void;
  /** Written instead of `path`, for embedding and tests. */
  destination?: DestinationStream;
}

export interface AccessLog {
  /** Whether the request starting now is logged; asked once per request. */
  sampled(): boolean;
  /** Writes the line of a finished, sampled request. */
  record(facts: ExchangeFacts): void;
  /** Flushes what is buffered and closes the file. */
  close(): Promise<void>;
}

export const ACCESS_LOG_DEFAULTS = { sample: 1 } as const;

/** The trace id of a W3C traceparent (`00-<32 hex trace id>-<16 hex parent>-<2 hex flags>`), or ''. */
export function traceIdOf(traceparent: string | string[] | undefined): string {
  if (typeof traceparent !== 'string' || traceparent.length < 55 || traceparent.charCodeAt(2) !== 45 || traceparent.charCodeAt(35) !== 45) return '';
  const id = traceparent.slice(3, 35);
  return /^[0-9a-f]{32}$/.test(id) && id !== '00000000000000000000000000000000' ? id : '';
}

class PinoAccessLog implements AccessLog {
  private readonly always: boolean;
  private readonly never: boolean;

  constructor(
    private readonly options: AccessLogOptions,
    private readonly ratio: number,
    private readonly logger: Logger | null,
    private readonly stream: (DestinationStream & { flushSync?: () => void; end?: () => void; on?: (event: string, listener: () => void) => unknown }) | null,
  ) {
    this.always = ratio >= 1;
    this.never = ratio <= 0;
  }

  sampled(): boolean {
    if (this.always) return true;
    if (this.never) return false;
    return this.options.rng.next() < this.ratio;
  }

  record(facts: ExchangeFacts): void {
    const clock = this.options.clock;
    const now = clock.now();
    const durationMs = now - facts.startedAt;
    const headers = facts.headers;
    const record: AccessRecord = {
      time: new Date(clock.wallNow() - durationMs).toISOString(),
      direction: facts.direction,
      method: facts.method,
      authority: typeof headers['host'] === 'string' ? headers['host'] : '',
      path: facts.path,
      status: facts.status,
      duration_ms: Math.round(durationMs * 1000) / 1000,
      bytes_in: facts.bytesIn,
      bytes_out: facts.bytesOut,
      upstream: facts.upstream,
      upstream_instance: facts.upstreamInstance,
      attempts: facts.attempts,
      retries: facts.attempts > 1 ? facts.attempts - 1 : 0,
      response_flags: facts.responseFlags,
      trace_id: facts.traceId ?? traceIdOf(headers['traceparent']),
      source: facts.source,
      destination: facts.destination,
      ...(facts.grpcStatus === undefined ? {} : { grpc_status: facts.grpcStatus }),
    };
    this.logger?.info(record);
    this.options.forward?.(record);
  }

  async close(): Promise<void> {
    const stream = this.stream;
    if (stream === null || stream.end === undefined) return;
    // Ends the file after what is buffered; stdout stays open for the rest of the process.
    if (this.options.path === '-') {
      stream.flushSync?.();
      return;
    }
    await new Promise<void>((resolve) => {
      stream.on?.('close', resolve);
      stream.on?.('error', resolve);
      stream.end!();
    });
  }
}

/** Null when there is nothing to write to: the request path then checks one field and builds nothing. */
export function createAccessLog(options: AccessLogOptions): AccessLog | null {
  const ratio = options.sample ?? ACCESS_LOG_DEFAULTS.sample;
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`access-log sample must be from 0 to 1, got ${ratio}`);
  const stream =
    options.destination ??
    (options.path === undefined ? null : pino.destination({ dest: options.path === '-' ? 1 : options.path, sync: false, mkdir: options.path !== '-' }));
  if (stream === null && options.forward === undefined) return null;
  // No pid, hostname or pino timestamp: the record is the line, its start time included. The level becomes
  // `"log":"access"`, which tells access lines apart where they share stdout with component logs.
  const logger = stream === null ? null : pino({ base: null, timestamp: false, formatters: { level: () => ({ log: 'access' }) } }, stream);
  return new PinoAccessLog(options, ratio, logger, stream as ConstructorParameters<typeof PinoAccessLog>[3]);
}
