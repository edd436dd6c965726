// Proxy: the sidecar's inbound listener: forwards every request to the local application.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { AppUnavailableError, type Runtime, type WeftError } from '../core/index.js';
import {
  claimedSource,
  CLIENT_CLOSED_STATUS,
  createProxyMetrics,
  istioResponseFlag,
  SourceTable,
  validSource,
  type AccessLog,
  type InFlightGauge,
  type IstioMetrics,
  type IstioPeerMetrics,
  type UpstreamMetrics,
} from '../telemetry/index.js';
import { EndpointPool, Http1Exchange, type ForwardOptions, type PoolOptions } from '../transport/index.js';
import { Drain, SERVER_KEEP_ALIVE_TIMEOUT_MS, type ProxyServer } from './drain.js';
import { rescue } from './rescue.js';

export interface InboundServerOptions {
  runtime: Runtime;
  /** Where the application listens; 127.0.0.1 unless told. */
  appHost?: string;
  appPort: number;
  /** The service this sidecar fronts, for metrics and logs. */
  service: string;
  responseTimeoutMs?: number;
  connectTimeoutMs?: number;
  pool?: PoolOptions;
  /** One line per sampled request; absent or null logs nothing. */
  accessLog?: AccessLog | null;
  /** Istio's standard metrics besides weft's; absent or null records none. */
  istio?: IstioMetrics | null;
}

export const INBOUND_DEFAULTS = {
  appHost: '127.0.0.1',
  connectTimeoutMs: 1_000,
  responseTimeoutMs: 15_000,
} as const;

/** A calling service's metric children, weft's and (when on) Istio's. */
interface Caller {
  readonly metrics: UpstreamMetrics;
  readonly istio: IstioPeerMetrics | null;
}

/** What every inbound exchange shares, built once per server. */
interface InboundContext {
  readonly runtime: Runtime;
  readonly pool: EndpointPool;
  readonly forward: ForwardOptions;
  /** Metric children per calling service, as its sidecar announced it in x-weft-source. */
  readonly callers: SourceTable<Caller>;
  readonly inFlight: InFlightGauge;
  readonly drain: Drain;
  readonly accessLog: AccessLog | null;
  readonly service: string;
}

/** One request to the local app: a single attempt, since there is no other instance to try here. */
class InboundExchange extends Http1Exchange {
  private readonly startedAt: number;
  private readonly caller: Caller;
  /** Access-log state, touched only when the request was sampled. */
  private readonly logged: boolean;
  private bytesIn = 0;
  private bytesWrittenBefore = 0;
  private responseFlags = '';

  constructor(
    private readonly context: InboundContext,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    super(req, res, context.forward, false);
    this.startedAt = context.runtime.clock.now();
    // The header is passed on to the app as well, which may use it.
    this.caller = context.callers.of(claimedSource(this.headers));
    context.drain.begin();
    context.inFlight.inc();
    this.logged = context.accessLog !== null && context.accessLog.sampled();
    if (this.logged || this.caller.istio !== null) this.bytesWrittenBefore = req.socket.bytesWritten;
  }

  override onClientData(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    super.onClientData(chunk);
  }

  protected attemptFailed(error: WeftError): void {
    const reported = error.code === 'CONNECT_FAILED' ? new AppUnavailableError(this.context.pool.address, error) : error;
    this.caller.metrics.error(reported.code);
    this.discardBody();
    this.status = rescue(this.res, reported);
    this.responseFlags = reported.code;
  }

  protected responded(): void {
    if (this.context.drain.draining) this.res.shouldKeepAlive = false;
  }

  protected closed(): void {
    const { metrics, istio } = this.caller;
    if (this.abortError !== null) metrics.error(this.abortError.code);
    const status = this.clientGone ? CLIENT_CLOSED_STATUS : this.status;
    const ms = this.context.runtime.clock.now() - this.startedAt;
    metrics.request(status, ms / 1000);
    if (istio !== null) {
      const flag = istioResponseFlag(this.abortError?.code ?? this.responseFlags, this.clientGone, false);
      istio.request(status, flag, ms, this.bytesIn, this.req.socket.bytesWritten - this.bytesWrittenBefore);
    }
    if (this.logged) this.log(status);
    this.context.inFlight.dec();
    this.context.drain.end();
  }

  private log(status: number): void {
    const context = this.context;
    context.accessLog!.record({
      direction: 'inbound',
      req: this.req,
      method: this.method,
      path: this.path,
      startedAt: this.startedAt,
      status,
      bytesIn: this.bytesIn,
      bytesOut: this.req.socket.bytesWritten - this.bytesWrittenBefore,
      upstream: this.attempt > 0 ? context.pool.address : '',
      upstreamInstance: '',
      attempts: this.attempt,
      responseFlags: this.abortError?.code ?? this.responseFlags,
      source: validSource(claimedSource(this.headers)),
      destination: context.service,
    });
  }
}

export function createInboundServer(options: InboundServerOptions): ProxyServer {
  const server = createServer({ keepAliveTimeout: SERVER_KEEP_ALIVE_TIMEOUT_MS });
  const drain = new Drain(server);
  const metrics = createProxyMetrics(options.runtime.metrics);
  const host = options.appHost ?? INBOUND_DEFAULTS.appHost;
  const connectTimeoutMs = options.connectTimeoutMs ?? INBOUND_DEFAULTS.connectTimeoutMs;
  const address = host.includes(':') ? `[${host}]:${options.appPort}` : `${host}:${options.appPort}`;
  const context: InboundContext = {
    runtime: options.runtime,
    pool: new EndpointPool({ host, port: options.appPort, address }, { connectTimeoutMs, ...options.pool }),
    forward: {
      connectTimeoutMs,
      responseTimeoutMs: options.responseTimeoutMs ?? INBOUND_DEFAULTS.responseTimeoutMs,
      replayLimitBytes: 0,
      peerAppUnavailableFails: false,
    },
    callers: new SourceTable((source) => ({ metrics: metrics.upstream('inbound', source, options.service), istio: options.istio?.inbound(source) ?? null })),
    inFlight: metrics.inFlight('inbound'),
    drain,
    accessLog: options.accessLog ?? null,
    service: options.service,
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    new InboundExchange(context, req, res).send(context.pool);
  });

  return {
    server,
    listen: (listenHost, port) => drain.listen(listenHost, port),
    inFlight: () => drain.inFlight(),
    async close(drainMs) {
      await drain.close(drainMs);
      context.pool.destroy();
    },
  };
}
