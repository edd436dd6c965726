// Proxy: the sidecar's outbound listener: routes by Host to a service and forwards to one of its endpoints.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { AmbiguousHostError, MissingHostError, NoEndpointsError, type Runtime, type WeftError } from '../core/index.js';
import type { SnapshotSource } from '../model/index.js';
import type { BalancerKind } from '../balance/index.js';
import { DEFAULT_RETRY_POLICY, REPLAY_BUFFER_BYTES } from '../resilience/index.js';
import { createProxyMetrics, createTcpMetrics, istioResponseFlag, UNKNOWN_SERVICE, type AccessLog, type HopSpans, type HopTracer, type IstioMetrics, type UpstreamMetrics } from '../telemetry/index.js';
import { answerOptionsAsterisk, hasSecondHost, isAbsoluteForm, screenRequest, targetAuthority, type PoolOptions } from '../transport/index.js';
import { LISTENER_LIMIT_DEFAULTS, ListenerGuard, type ListenerLimits } from '../listener/index.js';
import { Drain, SERVER_KEEP_ALIVE_TIMEOUT_MS, type ProxyServer } from './drain.js';
import { rescue } from './rescue.js';
import type { MeshTls } from '../security/tls/index.js';
import { Upstream } from './upstream.js';
import { UpstreamRoutes } from './upstream-routes.js';

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
  const server = createServer({ requireHostHeader: false, keepAliveTimeout: SERVER_KEEP_ALIVE_TIMEOUT_MS });
  const guard = new ListenerGuard({ name: 'outbound', limits: options.limits ?? LISTENER_LIMIT_DEFAULTS, metrics: runtime.metrics, logger });
  guard.protect(server);
  const drain = new Drain(server);
  const metrics = createProxyMetrics(runtime.metrics);
  const tcp = createTcpMetrics(runtime.metrics);
  server.on('connection', tcp.connections('outbound', 'downstream', UNKNOWN_SERVICE).track);
  // Requests whose Host names no known service go to UNKNOWN_SERVICE too: host names are unbounded, labels must not be.
  const source = options.localService || UNKNOWN_SERVICE;
  const inFlight = metrics.inFlight('outbound');
  const accessLog = options.accessLog ?? null;
  const tracing = options.tracing ?? null;
  const istio = options.istio ?? null;
  const forward = {
    connectTimeoutMs: options.connectTimeoutMs ?? OUTBOUND_DEFAULTS.connectTimeoutMs,
    responseTimeoutMs: options.responseTimeoutMs ?? OUTBOUND_DEFAULTS.responseTimeoutMs,
    replayLimitBytes: REPLAY_BUFFER_BYTES,
    peerAppUnavailableFails: true,
  };
  const defaults = {
    balancer: options.defaultBalancer ?? OUTBOUND_DEFAULTS.defaultBalancer,
    responseTimeoutMs: forward.responseTimeoutMs,
    maxAttempts: options.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
  };
  const routes = new UpstreamRoutes(snapshots, (service) => {
    logger.debug({ upstream: service }, 'new upstream');
    return new Upstream({
      runtime,
      service,
      defaults: { ...defaults, balancer: options.balancers?.[service] ?? defaults.balancer },
      forward,
      metrics: metrics.upstream('outbound', source, service),
      policyMetrics: metrics.policy(service),
      inFlight,
      drain,
      accessLog,
      tracing,
      localService: options.localService ?? '',
      istio: istio === null ? null : istio.outbound(service),
      pool: { ...options.pool, onSocket: tcp.connections('outbound', 'upstream', service).track },
      ...(options.mtls ? { mtls: options.mtls } : {}),
    });
  });
  let unknown: UpstreamMetrics | null = null;
  let unknownSpans: HopSpans | null = null;

  function reject(req: IncomingMessage, res: ServerResponse, error: WeftError): void {
    unknown ??= metrics.upstream('outbound', source, UNKNOWN_SERVICE);
    unknown.error(error.code);
    const logged = accessLog !== null && accessLog.sampled();
    const startedAt = logged ? runtime.clock.now() : 0;
    const bytesBefore = logged ? req.socket.bytesWritten : 0;
    const status = rescue(res, error);
    unknown.request(status, 0);
    if (istio !== null) istio.outbound(UNKNOWN_SERVICE).version('').request(status, istioResponseFlag(error.code, false, false), 0, 0, 0);
    const traceId = tracing === null ? undefined : traceRejected(tracing, req, status, error);
    if (logged) logRejected(req, status, error, startedAt, bytesBefore, traceId);
  }

  /** A request the listener will not carry: refused as a rejection of the listener as well as of the unknown service. */
  function refuse(req: IncomingMessage, res: ServerResponse, error: WeftError): void {
    guard.rejections.record(error.code === 'NOT_IMPLEMENTED' ? 'upgrade' : 'bad_request', `a request was refused: ${error.message}`);
    reject(req, res, error);
  }

  /** A rejected request still gets its CLIENT span, under the `_unknown` service like its metrics; returns its trace id. */
  function traceRejected(tracing: HopTracer, req: IncomingMessage, status: number, error: WeftError): string {
    unknownSpans ??= tracing.outbound(UNKNOWN_SERVICE);
    const span = unknownSpans.start(req, req.method ?? 'GET', req.url ?? '/');
    span.end({ status, responseFlags: error.code, attempts: 0, upstreamAddress: '', upstreamInstance: '' });
    return span.traceId;
  }

  function logRejected(req: IncomingMessage, status: number, error: WeftError, startedAt: number, bytesBefore: number, traceId: string | undefined): void {
    const service = error.details['service'];
    accessLog!.record({
      direction: 'outbound',
      req,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      startedAt,
      status,
      bytesIn: 0,
      bytesOut: req.socket.bytesWritten - bytesBefore,
      upstream: '',
      upstreamInstance: '',
      attempts: 0,
      responseFlags: error.code,
      traceId,
      source: options.localService ?? '',
      destination: typeof service === 'string' ? service : '',
    });
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const screened = screenRequest(req, res);
    if (screened !== 'forward') {
      if (screened === 'options-asterisk') answerOptionsAsterisk(res);
      else refuse(req, res, screened);
      return;
    }
    // An absolute-form target names the service itself, and takes precedence over Host (RFC 9112 3.2.2).
    const url = req.url ?? '/';
    const host = isAbsoluteForm(url) ? targetAuthority(url) : req.headers.host;
    if (host === undefined || host === '') {
      reject(req, res, new MissingHostError());
      return;
    }
    if (hasSecondHost(req.rawHeaders)) {
      reject(req, res, new AmbiguousHostError());
      return;
    }
    const upstream = routes.lookup(host);
    if (typeof upstream === 'string') {
      reject(req, res, new NoEndpointsError(upstream));
      return;
    }
    upstream.handle(req, res);
  });

  return {
    server,
    listen: (host, port) => drain.listen(host, port),
    inFlight: () => drain.inFlight(),
    async close(drainMs) {
      await drain.close(drainMs);
      routes.close();
    },
  };
}
