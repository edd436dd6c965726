// Control plane: assembly — backend, registry, router, REST and watch routes on one node:http server.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WeftError, type Runtime } from '../core/index.js';
import { LISTENER_LIMIT_DEFAULTS, ListenerGuard, withLimits, type ListenerLimits } from '../listener/index.js';
import { formatHostPort, HostPolicy } from '../model/index.js';
import { addDashboardRoutes, loadDashboardAssets } from '../dashboard/index.js';
import { EmbeddedBackend, MemoryBackend, openEtcdBackend, parseEtcdUrl, Registry, type RegistryBackend } from '../registry/index.js';
import { addPolicyRoutes, addRestRoutes, WatchStreams } from './api/index.js';
import { addTokenRoutes, createPrivateDataDir, openControlAccess, type ControlAccess, type WorkloadTrustSource } from './auth/index.js';
import { addCaRoutes, CaMetrics, ControlCa } from './ca/index.js';
import { ConsulApi } from './consul/index.js';
import { ControlMetrics } from './control-metrics.js';
import { rescue, Router, sendJson, VERSION_HEADER } from './http/index.js';
import { addStatsRoutes, StatsCollector, type StatsCollectorOptions } from './stats/index.js';

export const DEFAULT_DATA_DIR = '.weft/data';

export interface ControlPlaneOptions {
  listen: { host: string; port: number };
  /** Directory of the embedded store; default .weft/data. Ignored with dev. */
  dataDir?: string;
  /** Keep everything in memory (nothing survives a restart). */
  dev?: boolean;
  /**
   * Where state lives, instead of the embedded store: `etcd://HOST:PORT[,HOST:PORT...][/PREFIX]` keeps it in
   * an etcd cluster shared by every control plane given the same URL.
   */
  store?: string;
  runtime: Runtime;
  criticalRemoveAfterMs?: number;
  /** Interval of watch keep-alive pings; default WATCH_PING_INTERVAL_MS. */
  watchPingIntervalMs?: number;
  /** Unsent bytes after which a slow watch client's stream is ended; default 4 MiB. */
  watchMaxBufferedBytes?: number;
  /** Scraping of the sidecars' /metrics behind GET /api/v1/stats. */
  stats?: StatsCollectorOptions;
  /** Serve the web dashboard at / (default true). */
  dashboard?: boolean;
  /** Reads (GET/HEAD) need no credentials; changes still do. Without dev only. */
  openRead?: boolean;
  /** The CA roots a sidecar's `WeftCert` credential must chain to; default: the trust bundle of this control plane's CA. */
  workloadTrust?: WorkloadTrustSource;
  /** SPIFFE trust domain of the mesh's identities; default weft.local. */
  trustDomain?: string;
  /** An external intermediate CA (PEM certificate with its chain up to the root, and its key) instead of a managed root. */
  ca?: { certPath: string; keyPath: string };
  /** Lifetime of the workload certificates the CA signs; default 24 h. */
  certLifetimeMs?: number;
  /** Timeouts and the connection cap of the API listener; default LISTENER_LIMIT_DEFAULTS. */
  limits?: Partial<ListenerLimits>;
  /** CIDR ranges instance addresses must fall in (host names are then refused); default: any address. */
  allowInstanceCidrs?: readonly string[];
  /** CIDR ranges instance addresses must not fall in, besides link-local, unspecified and broadcast addresses (always refused). */
  denyInstanceCidrs?: readonly string[];
}

export interface ControlPlane {
  /** http://host:port */
  readonly url: string;
  readonly port: number;
  readonly registry: Registry;
  /** The admin token, when this start made it or `<data-dir>/admin.token` holds a valid one (never with dev). */
  readonly adminToken?: string;
  /** The admin token file, when this start wrote it. */
  readonly adminTokenFile?: string;
  /** The certificate authority that signs the sidecars' certificates. */
  readonly ca: ControlCa;
  close(): Promise<void>;
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { runtime } = options;
  // Read before anything opens, so that a missing file fails the start with nothing to clean up.
  const dashboard = (options.dashboard ?? true) ? await loadDashboardAssets() : undefined;
  // One rule for what an instance address may be: the registry's writes, the Consul checks' targets and the stats scrapes.
  const hostPolicy = new HostPolicy({
    ...(options.allowInstanceCidrs === undefined ? {} : { allow: options.allowInstanceCidrs }),
    ...(options.denyInstanceCidrs === undefined ? {} : { deny: options.denyInstanceCidrs }),
  });
  const backend = await openBackend(options);
  let registry: Registry;
  let access: ControlAccess | undefined;
  let ca: ControlCa;
  try {
    const { dev = false, openRead = false, dataDir = DEFAULT_DATA_DIR } = options;
    // Sidecars prove their certificates against the CA's current bundle, read per request, so a rotation counts at once.
    const workloadTrust = options.workloadTrust ?? (() => ca.workloadTrust());
    access = await openControlAccess(backend, { dev, openRead, dataDir, workloadTrust }, runtime);
    registry = await Registry.open(backend, runtime, {
      hostPolicy,
      ...(options.criticalRemoveAfterMs === undefined ? {} : { criticalRemoveAfterMs: options.criticalRemoveAfterMs }),
    });
    ca = await openCa(options, backend).catch(async (error: unknown) => {
      await registry.close();
      throw error;
    });
  } catch (error) {
    access?.authenticator.unregister();
    await backend.close();
    throw error;
  }
  const { tokens, authenticator: auth, bootstrap } = access;
  const metrics = new ControlMetrics(runtime.metrics);
  const watches = new WatchStreams(registry, runtime, {
    ...(options.watchPingIntervalMs === undefined ? {} : { pingIntervalMs: options.watchPingIntervalMs }),
    ...(options.watchMaxBufferedBytes === undefined ? {} : { maxBufferedBytes: options.watchMaxBufferedBytes }),
  });
  const router = new Router();
  addRestRoutes(router, registry);
  addPolicyRoutes(router, registry);
  addTokenRoutes(router, tokens);
  const caMetrics = new CaMetrics(runtime.metrics, ca.authority);
  addCaRoutes(router, ca, caMetrics, { dev: options.dev === true });
  watches.addRoute(router);
  const consul = new ConsulApi(registry, runtime, { hostPolicy });
  consul.addRoutes(router);
  metrics.watchers('watch', () => watches.count());
  metrics.watchers('consul_blocking', () => consul.blockingQueries());
  const stats = new StatsCollector(registry, runtime, { ...options.stats, hostPolicy });
  addStatsRoutes(router, stats);
  if (dashboard) addDashboardRoutes(router, dashboard);
  router.add('GET', '/healthz', async () => ({ status: 200, body: { status: 'ok', version: registry.version() } }));
  router.add('GET', '/metrics', async ({ res }) => {
    const text = await runtime.metrics.metrics();
    res.writeHead(200, { 'content-type': runtime.metrics.contentType, [VERSION_HEADER]: String(registry.version()) });
    res.end(text);
    return undefined;
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = runtime.clock.now();
    let route = 'unmatched';
    res.once('close', () => metrics.observe(req.method, route, res.statusCode, (runtime.clock.now() - started) / 1000));
    try {
      const url = new URL(req.url ?? '/', 'http://control.invalid');
      const match = router.match(req.method ?? 'GET', url.pathname);
      if (match.kind === 'not-found') throw new WeftError('NOT_FOUND', `no route for ${url.pathname}`);
      route = match.route;
      if (match.kind === 'method-not-allowed') {
        res.setHeader('allow', match.allow.join(', '));
        throw new WeftError('METHOD_NOT_ALLOWED', `${req.method ?? ''} is not allowed on ${url.pathname}; allowed: ${match.allow.join(', ')}`);
      }
      const principal = await auth.authenticate(req, url);
      const result = await match.handler({ req, res, params: match.params, url, principal });
      if (result) sendJson(res, result.status, result.body, registry.version());
    } catch (error) {
      const reply = rescue(error, runtime.logger);
      auth.failed(error, res);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, reply.status, reply.body, registry.version(), reply.closeConnection ? { connection: 'close' } : {});
    }
  };

  const server = createServer((req, res) => {
    // handle() answers every error itself; what escapes it (a failure while answering) only costs this connection.
    handle(req, res).catch((error: unknown) => {
      runtime.logger.error({ err: error }, 'control-plane request failed while answering');
      res.destroy();
    });
  });
  // Watch streams are long-lived responses, not idle connections: the limits bound heads, request bodies and idle keep-alive only.
  new ListenerGuard({ name: 'control', limits: withLimits(LISTENER_LIMIT_DEFAULTS, options.limits), metrics: runtime.metrics, logger: runtime.logger.child({ listener: 'control' }) }).protect(server);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listen.port, options.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    stats.close();
    consul.close();
    metrics.unregister();
    auth.unregister();
    caMetrics.unregister();
    ca.close();
    await registry.close();
    await backend.close();
    throw error;
  }
  server.on('error', (error) => runtime.logger.error({ err: error }, 'control-plane server error'));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${formatHostPort(options.listen.host, port)}`;
  runtime.logger.info({ url, store: options.dev ? 'memory' : (options.dataDir ?? DEFAULT_DATA_DIR), version: registry.version(), auth: options.dev ? 'off' : options.openRead ? 'open-read' : 'on' }, 'control plane listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      watches.closeAll();
      stats.close();
      consul.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await registry.close();
      await backend.close();
      metrics.unregister();
      caMetrics.unregister();
      ca.close();
      auth.unregister();
    })());

  return {
    url,
    port,
    registry,
    ca,
    ...(bootstrap?.token === undefined ? {} : { adminToken: bootstrap.token }),
    ...(bootstrap?.created ? { adminTokenFile: bootstrap.file } : {}),
    close,
  };
}

function openCa(options: ControlPlaneOptions, backend: RegistryBackend): Promise<ControlCa> {
  // A managed CA lives where the registry does: the data dir of the embedded store, or the shared backend. Under --dev it
  // keeps its root and its issuance log in a memory store of its own, so that the registry's versions count only registry changes.
  const embedded = options.store === undefined && !options.dev;
  const caBackend = options.dev && options.store === undefined ? new MemoryBackend() : backend;
  return ControlCa.open(
    {
      ...(options.trustDomain === undefined ? {} : { trustDomain: options.trustDomain }),
      ...(options.ca ? { files: options.ca } : {}),
      ...(options.certLifetimeMs === undefined ? {} : { leafLifetimeMs: options.certLifetimeMs }),
      storage: embedded ? { dataDir: options.dataDir ?? DEFAULT_DATA_DIR } : { backend: caBackend },
      clock: options.runtime.clock,
    },
    caBackend,
    options.runtime.logger,
  );
}

function openBackend(options: ControlPlaneOptions): Promise<RegistryBackend> {
  if (options.store !== undefined) return openEtcdBackend(parseEtcdUrl(options.store), options.runtime);
  if (options.dev) return Promise.resolve(new MemoryBackend());
  const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
  return createPrivateDataDir(dataDir).then(() => EmbeddedBackend.open(dataDir, options.runtime));
}
