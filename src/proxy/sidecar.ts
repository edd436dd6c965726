// Proxy: assembles one sidecar: control-plane watch, outbound and inbound servers, app health check, registration, admin.
import { formatAddress, type ListenAddress, type ProxyConfig } from '../config/index.js';
import type { Runtime } from '../core/index.js';
import { ADMIN_META_KEY } from '../model/index.js';
import { AppHealthCheck } from '../resilience/index.js';
import { bearerCredentials, ControlClient, ControlWatch } from '../resolve/index.js';
import { createAccessLog, createFluentForward, createIstioMetrics, createTracing, withFluentLogs } from '../telemetry/index.js';
import { createAdminServer, type Readiness } from './admin-server.js';
import type { ProxyServer } from './drain.js';
import { InboundAdmission } from './inbound-admission.js';
import { createInboundServer } from './inbound-server.js';
import { createOutboundServer } from './outbound-server.js';
import { Registration } from './registration.js';

export interface Sidecar {
  /** The registered instance id; undefined for an outbound-only sidecar. */
  readonly instanceId?: string;
  readonly outbound: ListenAddress;
  readonly inbound?: ListenAddress;
  readonly admin: ListenAddress;
  /**
   * Phase one of a shutdown: report not ready, stop health checks, deregister (best effort), then give
   * peers a moment to see it. Resolves when it is safe to stop the app.
   */
  deregister(): Promise<void>;
  /** Deregisters, gives peers a moment to see it, drains in-flight requests, then closes everything. */
  stop(): Promise<void>;
}

/** How long peers get to receive the deregistration before the listeners stop accepting. */
const SETTLE_MS = 500;

export async function startSidecar(config: ProxyConfig, baseRuntime: Runtime): Promise<Sidecar> {
  const fluent = config.fluent && createFluentForward({ ...config.fluent, registry: baseRuntime.metrics, clock: baseRuntime.clock });
  // With Fluent configured, the sidecar's own logs are shipped too (tag `TAG.log`), beside their usual destination.
  const runtime = fluent ? withFluentLogs(baseRuntime, fluent) : baseRuntime;
  const credentials = config.token === undefined ? undefined : bearerCredentials(config.token);
  const watch = new ControlWatch({ url: config.control, runtime, ...(credentials ? { credentials } : {}) }).start();
  const servers: ProxyServer[] = [];
  let draining = false;
  let health: AppHealthCheck | undefined;
  let registration: Registration | undefined;
  let instanceId: string | undefined;
  let inbound: ListenAddress | undefined;
  const accessLog = createAccessLog({
    path: config.accessLog.path,
    sample: config.accessLog.sample,
    rng: runtime.rng,
    clock: runtime.clock,
    ...(fluent ? { forward: (record) => fluent.emit('access', record) } : {}),
  });
  const tracing = config.tracing
    ? createTracing({ otlpUrl: config.tracing.otlp, sample: config.tracing.sample, service: config.service, registry: runtime.metrics, logger: runtime.logger.child({ component: 'tracing' }) })
    : null;
  const hops = tracing?.hops ?? null;
  const istio = config.metrics.istio
    ? createIstioMetrics(runtime.metrics, { service: config.service, version: config.instance.meta['version'] ?? '', namespace: config.metrics.namespace })
    : null;

  const outboundServer = createOutboundServer({
    runtime,
    snapshots: watch,
    balancers: { ...config.balancers },
    defaultBalancer: config.defaultBalancer,
    connectTimeoutMs: config.connectTimeoutMs,
    responseTimeoutMs: config.responseTimeoutMs,
    maxAttempts: config.maxAttempts,
    localService: config.service,
    accessLog,
    tracing: hops,
    istio,
  });
  servers.push(outboundServer);

  const readiness = (): Readiness => {
    if (draining) return { ready: false, reason: 'draining' };
    if (watch.lastVersion() === 0 && !watch.connected()) return { ready: false, reason: 'no snapshot from the control plane yet' };
    if (health && !health.healthy()) return { ready: false, reason: `app unhealthy: ${health.reason()}` };
    return { ready: true };
  };
  const adminServer = createAdminServer({ runtime, snapshots: watch, ready: readiness });

  try {
    const outbound = await outboundServer.listen(config.outbound.host, config.outbound.port);
    // Admin first: its address goes into the registration, so the control plane can scrape /metrics for `weft stat`.
    const admin = await adminServer.listen(config.admin.host, config.admin.port);
    if (config.appPort !== undefined) {
      const inboundServer = createInboundServer({
        runtime,
        appHost: config.appHost,
        appPort: config.appPort,
        service: config.service,
        connectTimeoutMs: config.connectTimeoutMs,
        responseTimeoutMs: config.responseTimeoutMs,
        accessLog,
        tracing: hops,
        istio,
        admission: new InboundAdmission({
          service: config.service,
          snapshots: watch,
          clock: runtime.clock,
          jwt: {
            onJwksEvent: (event) => {
              if (event.type === 'fetch-failed') runtime.logger.warn({ url: event.url, error: event.error, servingCachedKeys: event.servingCachedKeys, trigger: event.trigger }, 'JWKS fetch failed');
              else runtime.logger.debug({ url: event.url, keys: event.keys, trigger: event.trigger }, 'JWKS fetched');
            },
          },
        }),
      });
      servers.push(inboundServer);
      inbound = await inboundServer.listen(config.inbound.host, config.inbound.port);
      const host = config.advertise ?? advertisedHost(inbound.host);
      instanceId = config.instance.id ?? `${config.service}-${host}-${inbound.port}`;
      const reg = new Registration({
        runtime,
        client: new ControlClient({ url: config.control, ...(credentials ? { credentials } : {}) }),
        instance: { id: instanceId, service: config.service, host, port: inbound.port, weight: config.instance.weight, meta: { ...config.instance.meta, [ADMIN_META_KEY]: formatAddress({ host: advertisedHost(admin.host), port: admin.port }) }, ttlMs: config.instance.ttlMs },
      });
      registration = reg;
      health = new AppHealthCheck({
        runtime,
        host: config.appHost,
        port: config.appPort,
        path: config.healthCheck.path,
        intervalMs: config.healthCheck.intervalMs,
        timeoutMs: config.healthCheck.timeoutMs,
      });
      // Register only once the app answers, so peers never see an instance whose app is still starting.
      let registering = false;
      health.onChange((healthy, reason) => {
        if (healthy && !registering) {
          registering = true;
          reg.start();
        }
        reg.setHealth(healthy ? 'passing' : 'critical', healthy ? undefined : `app down: ${reason}`);
      });
      health.start();
    }
    runtime.logger.info(
      { service: config.service, instance: instanceId, outbound: formatAddress(outbound), inbound: inbound && formatAddress(inbound), admin: formatAddress(admin), control: config.control, tracing: config.tracing?.otlp },
      'sidecar started',
    );

    let deregistering: Promise<void> | undefined;
    const deregister = () =>
      (deregistering ??= (async () => {
        draining = true;
        health?.stop();
        await registration?.stop({ deregister: true });
        if (registration) await sleep(Math.min(SETTLE_MS, config.drainMs));
      })());
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await deregister();
        await Promise.all(servers.map((server) => server.close(config.drainMs)));
        watch.close();
        await adminServer.close();
        // Spans of the drained requests are flushed before the logs close, so a failed flush is still logged.
        await tracing?.shutdown();
        await accessLog?.close();
        await fluent?.close();
      })());
    return { instanceId, outbound, inbound, admin, deregister, stop };
  } catch (error) {
    health?.stop();
    await registration?.stop();
    watch.close();
    await Promise.allSettled([...servers.map((server) => server.close(0)), adminServer.close()]);
    await tracing?.shutdown();
    await accessLog?.close();
    await fluent?.close();
    throw error;
  }
}

/** A wildcard listener is reachable on loopback; register that rather than an address peers cannot dial. */
function advertisedHost(listenHost: string): string {
  if (listenHost === '0.0.0.0') return '127.0.0.1';
  if (listenHost === '::') return '::1';
  return listenHost;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
