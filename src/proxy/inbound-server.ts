// Proxy: the sidecar's inbound listener: forwards every request to the local application.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { AmbiguousHostError, type Runtime, type WeftError } from '../core/index.js';
import { compose, type Dispatch, type Layer, type MeshRequest } from '../http/index.js';
import { DEFAULT_PROTOCOL, formatHostPort, type Protocol } from '../model/index.js';
import { effectiveHeadersTimeout, LISTENER_LIMIT_DEFAULTS, ListenerGuard, type ListenerLimits } from '../listener/index.js';
import {
  claimedSource,
  createProxyMetrics,
  createTcpMetrics,
  ObserveStage,
  SourceTable,
  UNKNOWN_SERVICE,
  validSource,
  type AccessLog,
  type HopSink,
  type HopSpans,
  type HopTracer,
  type IstioMetrics,
  type IstioPeerMetrics,
  type UpstreamMetrics,
} from '../telemetry/index.js';
import {
  answerOptionsAsterisk,
  hasSecondHost,
  Http1ServerExchange,
  Http1UpgradeExchange,
  Http2ServerExchange,
  http2RequestHead,
  HttpFront,
  poolFor,
  screenHttp2Request,
  screenRequest,
  screenUpgrade,
  Tunnels,
  type PoolOptions,
  type ServerExchange,
} from '../transport/index.js';
import { ClaimedPeers, type PeerIdentifier } from '../security/authz/index.js';
import { MtlsListener, type MtlsMode, type WorkloadIdentity } from '../security/tls/index.js';
import { AdmissionStage, AppEndpointStage, createAdmissionMetrics, type InboundAdmission } from '../inbound/index.js';
import { guardedHttp2Sessions } from './guarded-http2.js';
import { Drain, SERVER_KEEP_ALIVE_TIMEOUT_MS, type ProxyServer } from './drain.js';

export interface InboundServerOptions {
  runtime: Runtime;
  /** Where the application listens; 127.0.0.1 unless told. */
  appHost?: string;
  appPort: number;
  /** What the app's port speaks: HTTP/2 and gRPC apps are called over h2c, the rest over HTTP/1.1; default http1. */
  appProtocol?: Protocol;
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

/** What one calling service's requests record into: weft's series and (when on) Istio's, and the server's spans. */
class Caller implements HopSink {
  constructor(
    readonly metrics: UpstreamMetrics,
    private readonly istioPeer: IstioPeerMetrics | null,
    readonly spans: HopSpans | null,
  ) {}

  get istioEnabled(): boolean {
    return this.istioPeer !== null;
  }

  istio(): IstioPeerMetrics | null {
    return this.istioPeer;
  }
}

export function createInboundServer(options: InboundServerOptions): InboundServer {
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => handle(req, res);
  const onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => handleUpgrade(req, socket, head);
  const tunnels = new Tunnels();
  const logger = options.runtime.logger.child({ listener: 'inbound', service: options.service });
  const limits = options.limits ?? LISTENER_LIMIT_DEFAULTS;
  const guard = new ListenerGuard({ name: 'inbound', limits, metrics: options.runtime.metrics, logger });
  // HTTP/2 callers (h2 by ALPN under mTLS, h2c in plaintext) beside HTTP/1.1 ones, on the same port.
  const http2 = guardedHttp2Sessions(guard, handleStream);
  const mtls = options.mtls
    ? new MtlsListener({ ...options.mtls, onRequest, onUpgrade, http2, keepAliveTimeoutMs: SERVER_KEEP_ALIVE_TIMEOUT_MS, guard })
    : null;
  const server = mtls?.plain ?? createServer({ keepAliveTimeout: SERVER_KEEP_ALIVE_TIMEOUT_MS }, onRequest);
  if (mtls === null) server.on('upgrade', onUpgrade);
  if (mtls === null) guard.protect(server, false);
  const front = mtls === null ? new HttpFront({ http1: server, http2, sniffTimeoutMs: effectiveHeadersTimeout(limits) }) : null;
  if (front !== null) guard.cap(front.socketServer);
  const drain = new Drain(mtls ?? front!);
  const metrics = createProxyMetrics(options.runtime.metrics);
  const tcp = createTcpMetrics(options.runtime.metrics);
  // The caller is not known at connection level: only its requests name it. Behind mTLS, the raw socket counts the bytes on the wire.
  const track = tcp.connections('inbound', 'downstream', UNKNOWN_SERVICE).track;
  (mtls ?? front!).on('connection', (socket: Socket) => track(socket));
  const host = options.appHost ?? INBOUND_DEFAULTS.appHost;
  const connectTimeoutMs = options.connectTimeoutMs ?? INBOUND_DEFAULTS.connectTimeoutMs;
  const admission = options.admission ?? null;
  const address = formatHostPort(host, options.appPort);
  const pool = poolFor(
    { host, port: options.appPort, address, protocol: options.appProtocol ?? DEFAULT_PROTOCOL },
    {
      connectTimeoutMs,
      ...options.pool,
      clock: options.runtime.clock,
      onSocket: tcp.connections('inbound', 'upstream', options.service).track,
      onHandlerError: (error) => options.runtime.logger.error({ err: error }, 'a request-path stage threw while given the app response; the attempt was given up'),
    },
  );
  const spans = options.tracing?.inbound() ?? null;
  // Metric children per calling service, as its sidecar announced it in x-weft-source or its certificate proves it.
  const callers = new SourceTable((source) => new Caller(metrics.upstream('inbound', source, options.service), options.istio?.inbound(source) ?? null, spans));
  const peers = options.peers ?? new ClaimedPeers();
  const app = new AppEndpointStage(pool, options.responseTimeoutMs ?? INBOUND_DEFAULTS.responseTimeoutMs);
  const layers: Layer[] = [];
  if (admission !== null) {
    const admissionMetrics = createAdmissionMetrics(options.runtime.metrics, options.service);
    layers.push((next) => new AdmissionStage(next, admission, admissionMetrics).dispatch);
  }
  const observe = new ObserveStage(compose(layers, app.dispatch), {
    direction: 'inbound',
    clock: options.runtime.clock,
    inFlight: metrics.inFlight('inbound'),
    accessLog: options.accessLog ?? null,
    sinkOf: (req: MeshRequest) => callers.of(req.facts.source),
  });
  const stack: Dispatch = observe.dispatch;


  function handle(req: IncomingMessage, res: ServerResponse): void {
    const screened = screenRequest(req, res);
    if (screened === 'options-asterisk') {
      answerOptionsAsterisk(res);
      return;
    }
    const exchange = new Http1ServerExchange(req, res, drain, req.headers.host ?? '', 0, options.runtime.clock.now());
    // Node keeps the first of two Host headers; the app might read the other: which one is meant is ambiguous (RFC 9112 3.2).
    admit(exchange, req.socket, (screened === 'forward' ? null : screened) ?? secondHost(req), 'a request');
  }

  /** An HTTP/2 stream: the same admission and app endpoint; the caller is proven by the session's connection. */
  function handleStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]): void {
    const head = http2RequestHead(headers, rawHeaders, stream.endAfterHeaders);
    const exchange = new Http2ServerExchange(stream, headers, head, drain, 0, options.runtime.clock.now());
    admit(exchange, stream.session ?? stream, screenHttp2Request(head, headers), 'an HTTP/2 request');
  }

  /** An Upgrade (a WebSocket): the same admission and app endpoint, the request's body and response being the tunnel. */
  function handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const screened = screenUpgrade(req);
    const exchange = new Http1UpgradeExchange(req, socket, head, drain, screened === 'tunnel' ? (req.headers.upgrade ?? '') : null, req.headers.host ?? '', options.runtime.clock.now());
    tunnels.add(exchange);
    admit(exchange, req.socket, (typeof screened === 'string' ? null : screened) ?? secondHost(req), 'an upgrade');
  }

  function secondHost(req: IncomingMessage): WeftError | null {
    return hasSecondHost(req.rawHeaders) ? new AmbiguousHostError() : null;
  }

  /** Names the caller of a request the listener took (by its connection: socket or HTTP/2 session), then refuses it or runs the stack. */
  function admit(exchange: ServerExchange | Http1UpgradeExchange, connection: object, refusal: WeftError | null, what: string): void {
    const request = exchange.request;
    // The header is passed on to the app as well, which may use it.
    const claimed = claimedSource(request.headers);
    const who = peers.identify(connection, claimed);
    request.caller = who;
    // A proven caller is counted, logged and limited as the service its certificate names, whatever it claims.
    request.facts.source = who.authenticated ? (who.service ?? '') : validSource(claimed);
    request.facts.destination = options.service;
    if (refusal !== null) {
      guard.rejections.record(refusal.code === 'NOT_IMPLEMENTED' ? 'upgrade' : 'bad_request', `${what} was refused: ${refusal.message}`);
      observe.refuse(request, exchange, refusal);
      return;
    }
    exchange.dispatchTo(stack, logger);
  }

  return {
    server,
    mtls,
    listen: (listenHost, port) => drain.listen(listenHost, port),
    inFlight: () => drain.inFlight(),
    async close(drainMs) {
      // Tunnels get a clean close (a FIN each way) when draining starts, and are cut at its end.
      tunnels.endAll();
      // node:http counts an upgraded socket until it closes, so the server's own close waits for the tunnels too.
      const cut = setTimeout(() => tunnels.destroyAll(), drainMs);
      await drain.close(drainMs);
      clearTimeout(cut);
      tunnels.destroyAll();
      pool.destroy();
      admission?.close();
    },
  };
}
