// Proxy: assembles one sidecar: its certificate, control-plane watch, outbound, raw TCP upstream and inbound servers (mTLS by mode), app health check, registration, admin.
import { formatAddress, TCP_UPSTREAM_HOST, type ListenAddress, type ProxyConfig } from '../config/index.js';
import type { Runtime } from '../core/index.js';
import { ADMIN_META_KEY } from '../model/index.js';
import { AppHealthCheck } from '../resilience/index.js';
import { ControlWatch } from '../resolve/index.js';
import { MtlsPeers } from '../security/authz/index.js';
import { createAccessLog, createIstioMetrics } from '../telemetry/index.js';
import { createAdminServer, type Readiness } from './admin-server.js';
import { ownListeners, refuseOwnAppPort, reserveAppPort, type PortReservation } from './app-port.js';
import type { SidecarServer } from './drain.js';
import type { InboundServer } from './inbound-server.js';
import { MeshTls } from '../security/tls/index.js';
import { registerMtlsMetrics } from './mtls-metrics.js';
import { createOutboundServer } from './outbound-server.js';
import { ControlClient, Registration, WorkloadCertificates } from '../workload/index.js';

export interface Sidecar {
  /** The registered instance id; undefined for an outbound-only sidecar. */
  readonly instanceId?: string;
  readonly outbound: ListenAddress;
  /** Where each raw TCP upstream listens, by service name (`--upstream NAME:LOCALPORT`). */
  readonly tcpUpstreams: Readonly<Record<string, ListenAddress>>;
  readonly inbound?: ListenAddress;
  readonly admin: ListenAddress;
  /** The app's port: the configured one or the one chosen for it; undefined for an outbound-only sidecar. */
  readonly appPort?: number;
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

export interface SidecarOptions {
  /** With no app port configured, pick a free one for the app (as `weft run` does) instead of running outbound-only. */
  readonly chooseAppPort?: boolean;
}

export async function startSidecar(config: ProxyConfig, baseRuntime: Runtime, options: SidecarOptions = {}): Promise<Sidecar> {
  // Before anything starts, against the ports that are fixed; listeners on port 0 are checked once bound.
  if (config.appPort !== undefined) refuseOwnAppPort(config.appHost, config.appPort, ownListeners(config.inbound, config.outbound, config.admin));
  // Fluent and OpenTelemetry are loaded only when configured: a sidecar without them does not carry their code.
  const fluentForward = config.fluent ? await import('../telemetry/fluent-forward.js') : null;
  const fluent = config.fluent && fluentForward!.createFluentForward({ ...config.fluent, registry: baseRuntime.metrics, clock: baseRuntime.clock });
  // With Fluent configured, the sidecar's own logs are shipped too (tag `TAG.log`), beside their usual destination.
  const runtime = fluent ? fluentForward!.withFluentLogs(baseRuntime, fluent) : baseRuntime;
  const mesh = new MeshTls({ connectTimeoutMs: config.connectTimeoutMs });
  let instanceId: string | undefined;
  const certificates = new WorkloadCertificates({
    runtime,
    service: config.service,
    mesh,
    trustBundleRefreshMs: config.security.trustBundleRefreshMs,
    instanceId: () => instanceId,
    ...(config.token === undefined ? {} : { token: config.token }),
  });
  // One credentials function for every call to the control plane: the certificate's assertion once held, the token before.
  const credentials = certificates.credentials;
  const watch = new ControlWatch({ url: config.control, runtime, credentials }).start();
  // One REST client (its keep-alive connections) for the registration and the certificate's requests.
  const control = new ControlClient({ url: config.control, credentials });
  registerMtlsMetrics(runtime.metrics, certificates, mesh);
  const servers: SidecarServer[] = [];
  let draining = false;
  let health: AppHealthCheck | undefined;
  let registration: Registration | undefined;
  let stopFollowingMode = (): void => {};
  let inbound: ListenAddress | undefined;
  let appPort = config.appPort;
  let appPortReservation: PortReservation | undefined;
  const accessLog = createAccessLog({
    path: config.accessLog.path,
    sample: config.accessLog.sample,
    rng: runtime.rng,
    clock: runtime.clock,
    ...(fluent ? { forward: (record) => fluent.emit('access', record) } : {}),
  });
  const tracing = config.tracing
    ? (await import('../telemetry/tracing/index.js')).createTracing({ otlpUrl: config.tracing.otlp, sample: config.tracing.sample, service: config.service, registry: runtime.metrics, logger: runtime.logger.child({ component: 'tracing' }) })
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
    mtls: mesh,
    limits: config.listeners.outbound,
  });
  servers.push(outboundServer);

  const readiness = (): Readiness => {
    if (draining) return { ready: false, reason: 'draining' };
    if (!certificates.settled()) return { ready: false, reason: 'no workload certificate yet' };
    if (watch.lastVersion() === 0 && !watch.connected()) return { ready: false, reason: 'no snapshot from the control plane yet' };
    if (health && !health.healthy()) return { ready: false, reason: `app unhealthy: ${health.reason()}` };
    return { ready: true };
  };
  const adminServer = createAdminServer({ runtime, snapshots: watch, ready: readiness, certs: () => certificates.info(), limits: config.listeners.admin });

  // A tcp port's connect timeout follows the sidecar's; its other limits keep their defaults (docs/tcp.md).
  const tcpLimits = { connectTimeoutMs: config.connectTimeoutMs };
  const tcpUpstreams: Record<string, ListenAddress> = {};

  try {
    if (Object.keys(config.tcpUpstreams).length > 0) {
      // Loaded only by a sidecar with raw TCP upstreams. Bound before the other listeners, so that none on port 0 takes one of their ports.
      const { createTcpUpstreamListener } = await import('../tcp/index.js');
      for (const [service, port] of Object.entries(config.tcpUpstreams)) {
        const upstream = createTcpUpstreamListener({ runtime, snapshots: watch, service, mtls: mesh, balancer: config.balancers[service] ?? config.defaultBalancer, limits: tcpLimits });
        servers.push(upstream);
        tcpUpstreams[service] = await upstream.listen(TCP_UPSTREAM_HOST, port);
      }
    }
    const outbound = await outboundServer.listen(config.outbound.host, config.outbound.port);
    // Admin first: its address goes into the registration, so the control plane can scrape /metrics for `weft stat`.
    const admin = await adminServer.listen(config.admin.host, config.admin.port);
    if (appPort !== undefined || options.chooseAppPort === true) {
      if (appPort === undefined) {
        // Picked while outbound and admin hold their ports, and held until inbound has its own: none of them can be it.
        appPortReservation = await reserveAppPort(config.appHost, [outbound, admin, config.inbound]);
        appPort = appPortReservation.port;
      }
      let ownServer: SidecarServer;
      if (config.protocol === 'tcp') {
        // A tcp app's bytes are relayed as they are; the port reads its mode from the mesh for each connection it accepts.
        const { createTcpInbound } = await import('../tcp/index.js');
        ownServer = createTcpInbound({ runtime, snapshots: watch, service: config.service, app: { host: config.appHost, port: appPort }, mtls: mesh, limits: tcpLimits });
      } else {
        // The inbound side (and the JWT library its admission uses) is loaded only by a sidecar that fronts an app.
        const [{ createInboundServer }, { InboundAdmission }] = await Promise.all([import('./inbound-server.js'), import('../inbound/admission-policy.js')]);
        const httpServer = createInboundServer({
          runtime,
          appHost: config.appHost,
          appPort,
          appProtocol: config.protocol,
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
          peers: new MtlsPeers(() => mesh.trustDomain),
          // Strict until the mesh says otherwise: nothing is served in plaintext before the mode is known.
          mtls: { mode: 'strict' },
          limits: config.listeners.inbound,
        });
        stopFollowingMode = followOwnMode(httpServer, mesh, watch, config.service, runtime);
        ownServer = httpServer;
      }
      servers.push(ownServer);
      inbound = await ownServer.listen(config.inbound.host, config.inbound.port);
      // A listener on port 0 has only now got its port, which could be a configured app port not yet listened on.
      refuseOwnAppPort(config.appHost, appPort, ownListeners(inbound, outbound, admin));
      // Released before the first probe, which would otherwise find the reservation answering for the app.
      await appPortReservation?.release();
      const host = config.advertise ?? advertisedHost(inbound.host);
      instanceId = config.instance.id ?? `${config.service}-${host}-${inbound.port}`;
      const reg = new Registration({
        runtime,
        client: control,
        instance: { id: instanceId, service: config.service, host, port: inbound.port, protocol: config.protocol, weight: config.instance.weight, meta: { ...config.instance.meta, [ADMIN_META_KEY]: formatAddress({ host: advertisedHost(admin.host), port: admin.port }) }, ttlMs: config.instance.ttlMs },
      });
      registration = reg;
      health = new AppHealthCheck({
        runtime,
        host: config.appHost,
        port: appPort,
        path: config.healthCheck.path,
        ...(config.healthCheck.grpcService === undefined ? {} : { grpcService: config.healthCheck.grpcService }),
        intervalMs: config.healthCheck.intervalMs,
        timeoutMs: config.healthCheck.timeoutMs,
        ownListeners: [inbound, outbound, admin],
      });
      // Register only once the app answers and the sidecar holds its certificate, so peers never see an instance
      // whose app is still starting or whose inbound port cannot yet prove who it is.
      let registering = false;
      let appHealthy = false;
      const register = (): void => {
        if (registering || !appHealthy || !certificates.settled()) return;
        registering = true;
        reg.start();
      };
      health.onChange((healthy, reason) => {
        appHealthy = healthy;
        register();
        reg.setHealth(healthy ? 'passing' : 'critical', healthy ? undefined : `app down: ${reason}`);
      });
      certificates.onSettled(register);
      health.start();
    }
    // Started once the instance id is known, so the CA's record of the certificate names it.
    certificates.start(control);
    runtime.logger.info(
      { service: config.service, instance: instanceId, outbound: formatAddress(outbound), tcpUpstreams: Object.keys(tcpUpstreams).length > 0 ? Object.fromEntries(Object.entries(tcpUpstreams).map(([service, address]) => [service, formatAddress(address)])) : undefined, inbound: inbound && formatAddress(inbound), admin: formatAddress(admin), control: config.control, tracing: config.tracing?.otlp },
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
        stopFollowingMode();
        certificates.stop();
        control.close();
        watch.close();
        await adminServer.close();
        // Spans of the drained requests are flushed before the logs close, so a failed flush is still logged.
        await tracing?.shutdown();
        await accessLog?.close();
        await fluent?.close();
      })());
    return { instanceId, outbound, tcpUpstreams, inbound, admin, appPort, deregister, stop };
  } catch (error) {
    await appPortReservation?.release();
    health?.stop();
    await registration?.stop();
    stopFollowingMode();
    certificates.stop();
    control.close();
    watch.close();
    await Promise.allSettled([...servers.map((server) => server.close(0)), adminServer.close()]);
    await tracing?.shutdown();
    await accessLog?.close();
    await fluent?.close();
    throw error;
  }
}

/**
 * Keeps the inbound listener in the mode of the sidecar's own service (its policy's `mtls`, else the mesh
 * default) as snapshots and the mesh change, and gives it the identity once the first certificate is held.
 */
function followOwnMode(server: InboundServer, mesh: MeshTls, watch: ControlWatch, service: string, runtime: Runtime): () => void {
  const listener = server.mtls!;
  mesh.inbound = listener.refusals;
  const apply = (): void => {
    if (mesh.identity !== null && !listener.hasIdentity) listener.setIdentity(mesh.identity);
    const mode = mesh.modeOf(watch.current().policies.get(service));
    if (mode === listener.mode) return;
    listener.setMode(mode);
    runtime.logger.info({ service, mtls: mode }, 'inbound mTLS mode');
  };
  apply();
  const stopMesh = mesh.onChange(apply);
  const stopSnapshots = watch.subscribe(apply);
  return () => {
    stopMesh();
    stopSnapshots();
  };
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
