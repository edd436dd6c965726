// Proxy: the sidecar's outbound listener: routes by Host to a service and forwards to one of its endpoints.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { AmbiguousHostError, MissingHostError, NoEndpointsError, type Runtime } from '../core/index.js';
import type { SnapshotSource } from '../model/index.js';
import type { BalancerKind } from '../balance/index.js';
import { DEFAULT_RETRY_POLICY, REPLAY_BUFFER_BYTES } from '../resilience/index.js';
import { createProxyMetrics, createTcpMetrics, ObserveStage, UNKNOWN_SERVICE, type AccessLog, type HopSink, type HopTracer, type IstioMetrics } from '../telemetry/index.js';
import {
  answerOptionsAsterisk,
  hasSecondHost,
  Http1ServerExchange,
  Http1UpgradeExchange,
  Http2ServerExchange,
  http2RequestHead,
  HttpFront,
  isAbsoluteForm,
  screenHttp2Request,
  screenRequest,
  screenUpgrade,
  targetAuthority,
  Tunnels,
  type PoolOptions,
  type ServerExchange,
} from '../transport/index.js';
import type { Socket } from 'node:net';
import { effectiveHeadersTimeout, LISTENER_LIMIT_DEFAULTS, ListenerGuard, type ListenerLimits } from '../listener/index.js';
import type { MeshTls } from '../security/tls/index.js';
import { OutboundStack, UpstreamRoutes } from '../outbound/index.js';
import { guardedHttp2Sessions } from './guarded-http2.js';
import { Drain, SERVER_KEEP_ALIVE_TIMEOUT_MS, type ProxyServer } from './drain.js';

export interface OutboundServerOptions {
  runtime: Runtime;
  snapshots: SnapshotSource;
  /**
   * Balancer per service; services not named use defaultBalancer. A service policy that names an algorithm other
   * than the default round-robin takes precedence over both.
   */
  balancers?: Record<string, BalancerKind>;
  defaultBalancer?: BalancerKind;
  connectTimeoutMs?: number;
  responseTimeoutMs?: number;
  /** Attempts per request in all, the first included, for services without a policy (a policy's retry.attempts wins). */
  maxAttempts?: number;
  /** The service this sidecar belongs to: the source in metrics and logs, announced to peers in x-weft-source. */
  localService?: string;
  pool?: PoolOptions;
  /** One line per sampled request; absent or null logs nothing. */
  accessLog?: AccessLog | null;
  /** One CLIENT span per request; absent or null traces nothing and leaves trace headers as they came. */
  tracing?: HopTracer | null;
  /** Istio's standard metrics besides weft's; absent or null records none. */
  istio?: IstioMetrics | null;
  /** Dial each service with mTLS or in plaintext by its mode; absent: plaintext always. */
  mtls?: MeshTls;
  /** Timeouts and the connection cap of the listener; default LISTENER_LIMIT_DEFAULTS. */
  limits?: ListenerLimits;
}

export const OUTBOUND_DEFAULTS = {
  defaultBalancer: 'round-robin',
  connectTimeoutMs: 1_000,
  responseTimeoutMs: 15_000,
} as const;

export function createOutboundServer(options: OutboundServerOptions): ProxyServer {
  const { runtime, snapshots } = options;
  const logger = runtime.logger.child({ listener: 'outbound', ...(options.localService ? { service: options.localService } : {}) });
  const limits = options.limits ?? LISTENER_LIMIT_DEFAULTS;
  const server = createServer({ requireHostHeader: false, keepAliveTimeout: SERVER_KEEP_ALIVE_TIMEOUT_MS });
  const guard = new ListenerGuard({ name: 'outbound', limits, metrics: runtime.metrics, logger });
  guard.protect(server, false);
  // HTTP/2 with prior knowledge (h2c) on the same port, told apart by its preface.
  const http2 = guardedHttp2Sessions(guard, handleStream);
  const front = new HttpFront({
    http1: server,
    http2,
    sniffTimeoutMs: effectiveHeadersTimeout(limits),
    onSilent: () => guard.rejections.record('request_timeout', 'a connection was closed: it sent nothing in time'),
  });
  guard.cap(front.socketServer);
  const drain = new Drain(front);
  const metrics = createProxyMetrics(runtime.metrics);
  const tcp = createTcpMetrics(runtime.metrics);
  front.on('connection', tcp.connections('outbound', 'downstream', UNKNOWN_SERVICE).track);
  // Requests whose Host names no known service go to UNKNOWN_SERVICE too: host names are unbounded, labels must not be.
  const source = options.localService || UNKNOWN_SERVICE;
  const inFlight = metrics.inFlight('outbound');
  const accessLog = options.accessLog ?? null;
  const tracing = options.tracing ?? null;
  const istio = options.istio ?? null;
  const connectTimeoutMs = options.connectTimeoutMs ?? OUTBOUND_DEFAULTS.connectTimeoutMs;
  const defaults = {
    balancer: options.defaultBalancer ?? OUTBOUND_DEFAULTS.defaultBalancer,
    responseTimeoutMs: options.responseTimeoutMs ?? OUTBOUND_DEFAULTS.responseTimeoutMs,
    maxAttempts: options.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
  };
  const localService = options.localService ?? '';
  const routes = new UpstreamRoutes(snapshots, (service) => {
    logger.debug({ upstream: service }, 'new upstream');
    return new OutboundStack({
      runtime,
      service,
      defaults: { ...defaults, balancer: options.balancers?.[service] ?? defaults.balancer },
      connectTimeoutMs,
      peerAppUnavailableFails: true,
      metrics: metrics.upstream('outbound', source, service),
      policyMetrics: metrics.policy(service),
      inFlight,
      accessLog,
      spans: tracing?.outbound(service) ?? null,
      localService,
      istio: istio === null ? null : istio.outbound(service),
      pool: { ...options.pool, onSocket: tcp.connections('outbound', 'upstream', service).track },
      ...(options.mtls ? { mtls: options.mtls } : {}),
    });
  });
  // Requests refused before a service was known are observed as calls to UNKNOWN_SERVICE, built on the first one.
  let unknown: ObserveStage | null = null;
  function unknownService(): ObserveStage {
    if (unknown !== null) return unknown;
    const istioUnknown = istio === null ? null : istio.outbound(UNKNOWN_SERVICE).version('');
    const sink: HopSink = {
      metrics: metrics.upstream('outbound', source, UNKNOWN_SERVICE),
      spans: tracing?.outbound(UNKNOWN_SERVICE) ?? null,
      istioEnabled: istioUnknown !== null,
      istio: () => istioUnknown,
    };
    return (unknown = new ObserveStage(() => {}, { direction: 'outbound', clock: runtime.clock, inFlight, accessLog, sinkOf: () => sink }));
  }


  /** Sends a request the listener took on to the stack of the service its Host names, or answers why not. */
  function route(exchange: ServerExchange | Http1UpgradeExchange, host: string | undefined, secondHost: boolean): void {
    const request = exchange.request;
    if (host === undefined || host === '') {
      unknownService().refuse(request, exchange, new MissingHostError());
      return;
    }
    if (secondHost) {
      unknownService().refuse(request, exchange, new AmbiguousHostError());
      return;
    }
    const stack = routes.lookup(host);
    if (typeof stack === 'string') {
      request.facts.destination = stack;
      unknownService().refuse(request, exchange, new NoEndpointsError(stack));
      return;
    }
    request.facts.destination = stack.service;
    exchange.dispatchTo(stack.dispatch, logger);
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const screened = screenRequest(req, res);
    if (screened === 'options-asterisk') {
      answerOptionsAsterisk(res);
      return;
    }
    // An absolute-form target names the service itself, and takes precedence over Host (RFC 9112 3.2.2).
    const url = req.url ?? '/';
    const host = isAbsoluteForm(url) ? targetAuthority(url) : req.headers.host;
    const exchange = new Http1ServerExchange(req, res, drain, host ?? '', REPLAY_BUFFER_BYTES, runtime.clock.now());
    const request = exchange.request;
    request.facts.source = localService;
    if (screened !== 'forward') {
      // A request the listener will not carry: a rejection of the listener as well as of the unknown service.
      guard.rejections.record(screened.code === 'NOT_IMPLEMENTED' ? 'upgrade' : 'bad_request', `a request was refused: ${screened.message}`);
      unknownService().refuse(request, exchange, screened);
      return;
    }
    route(exchange, host, hasSecondHost(req.rawHeaders));
  });

  /** An HTTP/2 stream: routed by :authority (or Host) as an HTTP/1.1 request is by Host. */
  function handleStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]): void {
    const head = http2RequestHead(headers, rawHeaders, stream.endAfterHeaders);
    const exchange = new Http2ServerExchange(stream, headers, head, drain, REPLAY_BUFFER_BYTES, runtime.clock.now());
    const request = exchange.request;
    request.facts.source = localService;
    const refusal = screenHttp2Request(head, headers);
    if (refusal !== null) {
      guard.rejections.record(refusal.code === 'NOT_IMPLEMENTED' ? 'connect' : 'bad_request', `an HTTP/2 request was refused: ${refusal.message}`);
      unknownService().refuse(request, exchange, refusal);
      return;
    }
    route(exchange, head.authority, false);
  }

  // An Upgrade (a WebSocket) is one request whose body and response run for as long as the tunnel lasts.
  const tunnels = new Tunnels();
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const screened = screenUpgrade(req);
    const url = req.url ?? '/';
    const host = isAbsoluteForm(url) ? targetAuthority(url) : req.headers.host;
    const exchange = new Http1UpgradeExchange(req, socket, head, drain, screened === 'tunnel' ? (req.headers.upgrade ?? '') : null, host ?? '', runtime.clock.now());
    tunnels.add(exchange);
    const request = exchange.request;
    request.facts.source = localService;
    if (typeof screened !== 'string') {
      guard.rejections.record('bad_request', `an upgrade was refused: ${screened.message}`);
      unknownService().refuse(request, exchange, screened);
      return;
    }
    route(exchange, host, hasSecondHost(req.rawHeaders));
  });

  return {
    server,
    listen: (host, port) => drain.listen(host, port),
    inFlight: () => drain.inFlight(),
    async close(drainMs) {
      // Tunnels get a clean close (a FIN each way) when draining starts, and are cut at its end.
      tunnels.endAll();
      // node:http counts an upgraded socket until it closes, so the server's own close waits for the tunnels too.
      const cut = setTimeout(() => tunnels.destroyAll(), drainMs);
      await drain.close(drainMs);
      clearTimeout(cut);
      tunnels.destroyAll();
      routes.close();
    },
  };
}
