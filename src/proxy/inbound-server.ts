// Proxy: the sidecar's inbound listener: forwards every request to the local application.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AmbiguousHostError, AppUnavailableError, type Runtime, type WeftError } from '../core/index.js';
import { formatHostPort } from '../model/index.js';
import { LISTENER_LIMIT_DEFAULTS, ListenerGuard, type ListenerLimits } from '../listener/index.js';
import {
  claimedSource,
  CLIENT_CLOSED_STATUS,
  createProxyMetrics,
  createTcpMetrics,
  istioResponseFlag,
  SourceTable,
  UNKNOWN_SERVICE,
  validSource,
  withTraceHeaders,
  type AccessLog,
  type HopSpan,
  type HopSpans,
  type HopTracer,
  type InFlightGauge,
  type IstioMetrics,
  type IstioPeerMetrics,
  type UpstreamMetrics,
} from '../telemetry/index.js';
import { answerOptionsAsterisk, EndpointPool, hasSecondHost, Http1Exchange, screenRequest, type ForwardOptions, type PoolOptions } from '../transport/index.js';
import { ClaimedPeers, type PeerIdentifier, type PeerIdentity } from '../security/authz/index.js';
import { MtlsListener, type MtlsMode, type WorkloadIdentity } from '../security/tls/index.js';
import { unauthenticatedError, type JwtAccepted, type JwtAuthenticator, type JwtAuthResult } from '../security/jwt/index.js';
import { createAdmissionMetrics, type AdmissionMetrics, type RefusalCounts } from './admission-metrics.js';
import { Drain, SERVER_KEEP_ALIVE_TIMEOUT_MS, type ProxyServer } from './drain.js';
import type { InboundAdmission } from './inbound-admission.js';
import { withJwtHeaders } from './jwt-forward-headers.js';
import { asWeftError, rescue } from './rescue.js';

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
  /** One SERVER span per request; absent or null traces nothing and leaves trace headers as they came. */
  tracing?: HopTracer | null;
  /** Istio's standard metrics besides weft's; absent or null records none. */
  istio?: IstioMetrics | null;
  /** JWT authentication, authorization and rate limits checked before the app; absent or null lets every request through. */
  admission?: InboundAdmission | null;
  /**
   * Who calls, for the admission checks, the `source` of metrics and logs and per-source limits; default: the
   * x-weft-source claim, unauthenticated. With mTLS, an identifier that reads the proven SPIFFE id.
   */
  peers?: PeerIdentifier;
  /** Listen through an MtlsListener in this mode (changed later through `mtls.setMode`); absent: plain HTTP only. */
  mtls?: { readonly mode: MtlsMode; readonly identity?: WorkloadIdentity | null; readonly handshakeTimeoutMs?: number };
  /** Timeouts and the connection cap of the listener; default LISTENER_LIMIT_DEFAULTS. */
  limits?: ListenerLimits;
}

export interface InboundServer extends ProxyServer {
  /** The port's mTLS listener; null when the server was made without `mtls`. */
  readonly mtls: MtlsListener | null;
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
  /** Null when the server has no admission checks. */
  readonly refusals: RefusalCounts | null;
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
  /** Null when tracing is off. */
  readonly spans: HopSpans | null;
  readonly service: string;
  readonly peers: PeerIdentifier;
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
  /** This hop's span; null when tracing is off. */
  private readonly span: HopSpan | null;
  /** The forwarded headers, with this hop's trace context in place of the caller's when tracing, and JWT claims once verified. */
  private base: string[];
  private readonly claimed: string | undefined;
  /** The caller as judged: proven by mTLS or claimed. */
  private readonly who: PeerIdentity;

  constructor(
    readonly context: InboundContext,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    super(req, res, context.forward, false);
    this.startedAt = context.runtime.clock.now();
    // The header is passed on to the app as well, which may use it.
    const claimed = claimedSource(this.headers);
    this.claimed = claimed;
    this.who = context.peers.identify(req.socket, claimed);
    // A proven caller is counted, logged and limited as the service its certificate names, whatever it claims.
    const source = this.who.authenticated ? this.who.service : claimed;
    this.caller = context.callers.of(source);
    context.drain.begin();
    context.inFlight.inc();
    const spans = context.spans;
    this.span = spans === null ? null : spans.start(req, this.method, this.path, source);
    this.base = this.span === null ? this.headers : withTraceHeaders(this.headers, this.span.headers);
    this.logged = context.accessLog !== null && context.accessLog.sampled();
    if (this.logged || this.caller.istio !== null) this.bytesWrittenBefore = req.socket.bytesWritten;
  }

  override onClientData(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    super.onClientData(chunk);
  }

  protected override attemptHeaders(): string[] {
    return this.base;
  }

  protected attemptFailed(error: WeftError): void {
    const reported = error.code === 'CONNECT_FAILED' ? new AppUnavailableError(this.context.pool.address, error) : error;
    this.caller.metrics.error(reported.code);
    this.discardBody();
    this.status = rescue(this.res, reported);
    this.responseFlags = reported.code;
  }

  /** The caller, as the admission checks judge it. */
  peer(): PeerIdentity {
    return this.who;
  }

  /** The token was verified (or the route needs none): the app gets the verified claims, never client-set ones. */
  authenticated(accepted: JwtAccepted): void {
    this.base = withJwtHeaders(this.base, accepted);
  }

  /** Answers with a refusal (the admission checks', or the listener's) instead of calling the app. */
  refuse(error: WeftError): void {
    const refusals = this.caller.refusals;
    if (refusals !== null && error.code === 'FORBIDDEN') refusals.denied();
    else if (refusals !== null && error.code === 'RATE_LIMITED') refusals.limited();
    this.caller.metrics.error(error.code);
    this.discardBody();
    this.status = rescue(this.res, error);
    this.responseFlags = error.code;
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
    const responseFlags = this.abortError?.code ?? this.responseFlags;
    if (istio !== null) {
      const flag = istioResponseFlag(responseFlags, this.clientGone, false);
      istio.request(status, flag, ms, this.bytesIn, this.req.socket.bytesWritten - this.bytesWrittenBefore);
    }
    const upstream = this.attempt > 0 ? this.context.pool.address : '';
    this.span?.end({ status, responseFlags, attempts: this.attempt, upstreamAddress: upstream, upstreamInstance: '' });
    if (this.logged) this.log(status, responseFlags, upstream);
    this.context.inFlight.dec();
    this.context.drain.end();
  }

  private log(status: number, responseFlags: string, upstream: string): void {
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
      upstream,
      upstreamInstance: '',
      attempts: this.attempt,
      responseFlags,
      traceId: this.span?.traceId,
      source: this.who.authenticated ? (this.who.service ?? '') : validSource(this.claimed),
      destination: context.service,
    });
  }
}

/** Authorization and rate limits, then the app. */
function admit(exchange: InboundExchange, admission: InboundAdmission): void {
  const refusal = admission.check(exchange.peer(), exchange.method, exchange.path, exchange.headers);
  if (refusal === null) exchange.send(exchange.context.pool);
  else exchange.refuse(refusal);
}

/** JWT authentication first, as Envoy orders its filters: an unauthenticated request spends no rate-limit token. */
function authenticateThenAdmit(exchange: InboundExchange, jwt: JwtAuthenticator, admission: InboundAdmission, metrics: AdmissionMetrics): void {
  const settle = (result: JwtAuthResult): void => {
    // The client may have left while the keys were fetched: nobody is left to answer.
    if (exchange.finished) return;
    if (result.ok) {
      exchange.authenticated(result);
      admit(exchange, admission);
      return;
    }
    metrics.jwtDenied(result.reason);
    exchange.refuse(unauthenticatedError(result));
  };
  jwt.authenticate(exchange.method, exchange.path, exchange.req.headers).then(settle, (error: unknown) => {
    if (!exchange.finished) exchange.refuse(asWeftError(error));
  });
}

export function createInboundServer(options: InboundServerOptions): InboundServer {
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => handle(req, res);
  const logger = options.runtime.logger.child({ listener: 'inbound', service: options.service });
  const guard = new ListenerGuard({ name: 'inbound', limits: options.limits ?? LISTENER_LIMIT_DEFAULTS, metrics: options.runtime.metrics, logger });
  const mtls = options.mtls
    ? new MtlsListener({ ...options.mtls, onRequest, keepAliveTimeoutMs: SERVER_KEEP_ALIVE_TIMEOUT_MS, guard })
    : null;
  const server = mtls?.plain ?? createServer({ keepAliveTimeout: SERVER_KEEP_ALIVE_TIMEOUT_MS }, onRequest);
  if (mtls === null) guard.protect(server);
  const drain = new Drain(mtls ?? server);
  const metrics = createProxyMetrics(options.runtime.metrics);
  const tcp = createTcpMetrics(options.runtime.metrics);
  // The caller is not known at connection level: only its requests name it. Behind mTLS, the raw socket counts the bytes on the wire.
  const track = tcp.connections('inbound', 'downstream', UNKNOWN_SERVICE).track;
  if (mtls) mtls.on('connection', (socket: Socket) => track(socket));
  else server.on('connection', track);
  const host = options.appHost ?? INBOUND_DEFAULTS.appHost;
  const connectTimeoutMs = options.connectTimeoutMs ?? INBOUND_DEFAULTS.connectTimeoutMs;
  const admission = options.admission ?? null;
  const admissionMetrics = admission === null ? null : createAdmissionMetrics(options.runtime.metrics, options.service);
  const address = formatHostPort(host, options.appPort);
  const context: InboundContext = {
    runtime: options.runtime,
    pool: new EndpointPool({ host, port: options.appPort, address }, { connectTimeoutMs, ...options.pool, onSocket: tcp.connections('inbound', 'upstream', options.service).track }),
    forward: {
      connectTimeoutMs,
      responseTimeoutMs: options.responseTimeoutMs ?? INBOUND_DEFAULTS.responseTimeoutMs,
      replayLimitBytes: 0,
      peerAppUnavailableFails: false,
    },
    callers: new SourceTable((source) => ({
      metrics: metrics.upstream('inbound', source, options.service),
      istio: options.istio?.inbound(source) ?? null,
      refusals: admissionMetrics?.forSource(source) ?? null,
    })),
    inFlight: metrics.inFlight('inbound'),
    drain,
    accessLog: options.accessLog ?? null,
    spans: options.tracing?.inbound() ?? null,
    service: options.service,
    peers: options.peers ?? new ClaimedPeers(),
  };

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const screened = screenRequest(req, res);
    if (screened === 'options-asterisk') {
      answerOptionsAsterisk(res);
      return;
    }
    const exchange = new InboundExchange(context, req, res);
    // Node keeps the first of two Host headers; the app might read the other: which one is meant is ambiguous (RFC 9112 3.2).
    const refusal = screened !== 'forward' ? screened : hasSecondHost(req.rawHeaders) ? new AmbiguousHostError() : null;
    if (refusal !== null) {
      guard.rejections.record(refusal.code === 'NOT_IMPLEMENTED' ? 'upgrade' : 'bad_request', `a request was refused: ${refusal.message}`);
      exchange.refuse(refusal);
      return;
    }
    if (admission === null) {
      exchange.send(context.pool);
      return;
    }
    const jwt = admission.authenticator();
    if (jwt === null) admit(exchange, admission);
    else authenticateThenAdmit(exchange, jwt, admission, admissionMetrics!);
  }

  return {
    server,
    mtls,
    listen: (listenHost, port) => drain.listen(listenHost, port),
    inFlight: () => drain.inFlight(),
    async close(drainMs) {
      await drain.close(drainMs);
      context.pool.destroy();
      admission?.close();
    },
  };
}
