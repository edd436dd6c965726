// Resilience: the sidecar's probe of its own app (TCP connect, HTTP GET, or the gRPC health service), turned into healthy/unhealthy transitions.
import http from 'node:http';
import net from 'node:net';
import { Gauge, type Registry } from 'prom-client';
import type { Runtime } from '../core/index.js';
import { formatHostPort, hostsOverlap } from '../model/index.js';
import { probeGrpc } from './grpc-health-probe.js';

export interface AppHealthCheckOptions {
  runtime: Runtime;
  host: string;
  port: number;
  /** When set, probes GET this path and want a 2xx/3xx; otherwise a TCP connect is enough. */
  path?: string;
  /**
   * When set (the empty string: the whole server), probes the app's standard gRPC health service
   * (grpc.health.v1.Health/Check for this service name) and wants SERVING. Takes precedence over `path`.
   */
  grpcService?: string;
  intervalMs?: number;
  timeoutMs?: number;
  /** Consecutive failures before a healthy app is declared down; 1 makes failover fast. */
  unhealthyThreshold?: number;
  /** Consecutive successes before a down app is declared up again. */
  healthyThreshold?: number;
  onChange?: (healthy: boolean, reason: string) => void;
  /** The sidecar's own listening addresses: a probe that reaches one of them has not reached the app. */
  ownListeners?: readonly { readonly host: string; readonly port: number }[];
}

/** Probe interval while the app has not answered yet. */
const STARTUP_PROBE_MS = 100;

export const APP_HEALTH_CHECK_DEFAULTS = {
  intervalMs: 2_000,
  timeoutMs: 1_000,
  unhealthyThreshold: 1,
  healthyThreshold: 1,
} as const;

export interface ProbeResult {
  readonly ok: boolean;
  readonly reason: string;
}

type Listener = (healthy: boolean, reason: string) => void;

export class AppHealthCheck {
  private readonly options: Required<Omit<AppHealthCheckOptions, 'path' | 'grpcService' | 'onChange'>> & { path?: string; grpcService?: string };
  private readonly listeners = new Set<Listener>();
  private readonly gauge: Gauge;
  private readonly target: string;
  // Unknown until the first probe: the first result decides at once, whatever the thresholds.
  private state: boolean | undefined;
  private lastReason = 'not probed yet';
  private streak = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  // Bumped by stop(): a tick still awaiting its probe must not schedule another after a stop/start.
  private generation = 0;
  private inFlight: Promise<ProbeResult> | undefined;
  private everHealthy = false;

  constructor(options: AppHealthCheckOptions) {
    this.options = {
      runtime: options.runtime,
      host: options.host,
      port: options.port,
      intervalMs: options.intervalMs ?? APP_HEALTH_CHECK_DEFAULTS.intervalMs,
      timeoutMs: options.timeoutMs ?? Math.min(APP_HEALTH_CHECK_DEFAULTS.timeoutMs, options.intervalMs ?? Infinity),
      unhealthyThreshold: Math.max(1, options.unhealthyThreshold ?? APP_HEALTH_CHECK_DEFAULTS.unhealthyThreshold),
      healthyThreshold: Math.max(1, options.healthyThreshold ?? APP_HEALTH_CHECK_DEFAULTS.healthyThreshold),
      ownListeners: options.ownListeners ?? [],
      ...(options.path === undefined ? {} : { path: options.path.startsWith('/') ? options.path : `/${options.path}` }),
      ...(options.grpcService === undefined ? {} : { grpcService: options.grpcService }),
    };
    if (options.onChange) this.listeners.add(options.onChange);
    this.gauge = appHealthyGauge(options.runtime.metrics);
    const hostPort = formatHostPort(options.host, options.port);
    this.target =
      this.options.grpcService !== undefined ? `grpc://${hostPort}${this.options.grpcService ? `/${this.options.grpcService}` : ''}` : this.options.path === undefined ? `tcp://${hostPort}` : `http://${hostPort}${this.options.path}`;
  }

  /** Probes now and then every intervalMs until stop(). */
  start(): this {
    if (this.running) return this;
    this.running = true;
    void this.tick(this.generation);
    return this;
  }

  stop(): void {
    this.running = false;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** False until the first probe succeeds. */
  healthy(): boolean {
    return this.state === true;
  }

  reason(): string {
    return this.lastReason;
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Runs one probe (joining one already under way, so probes never overlap) and applies its result. */
  check(): Promise<ProbeResult> {
    if (!this.inFlight) {
      this.inFlight = this.probe().then((result) => {
        this.inFlight = undefined;
        this.record(result);
        return result;
      });
    }
    return this.inFlight;
  }

  private async tick(generation: number): Promise<void> {
    const started = this.options.runtime.clock.now();
    await this.check();
    if (!this.running || generation !== this.generation) return;
    // The interval runs from probe start to probe start, so a slow app does not stretch the cadence.
    const elapsed = this.options.runtime.clock.now() - started;
    this.timer = setTimeout(() => void this.tick(generation), Math.max(0, this.cadence() - elapsed));
    this.timer.unref();
  }

  /**
   * Until the app has answered once, probe often: a starting app is registered (and gets traffic) as soon as
   * it listens, not one full interval later.
   */
  private cadence(): number {
    if (!this.everHealthy) return Math.min(this.options.intervalMs, STARTUP_PROBE_MS);
    return this.options.intervalMs;
  }

  private record(result: ProbeResult): void {
    if (result.ok) this.everHealthy = true;
    this.lastReason = result.reason;
    if (this.state === undefined) {
      this.transition(result);
      return;
    }
    if (result.ok === this.state) {
      this.streak = 0;
      return;
    }
    this.streak++;
    const threshold = result.ok ? this.options.healthyThreshold : this.options.unhealthyThreshold;
    if (this.streak >= threshold) this.transition(result);
  }

  private transition(result: ProbeResult): void {
    const first = this.state === undefined;
    this.state = result.ok;
    this.streak = 0;
    this.gauge.set(result.ok ? 1 : 0);
    const log = this.options.runtime.logger;
    if (result.ok) log.info({ target: this.target }, 'app is healthy');
    // An app that is still starting is expected, not a warning.
    else if (first) log.info({ target: this.target, reason: result.reason }, 'waiting for the app to answer');
    else log.warn({ target: this.target, reason: result.reason }, 'app is unhealthy');
    for (const listener of [...this.listeners]) {
      try {
        listener(result.ok, result.reason);
      } catch (err) {
        log.error({ err }, 'app health listener threw');
      }
    }
  }

  private probe(): Promise<ProbeResult> {
    const { grpcService, host, port, timeoutMs, path } = this.options;
    if (grpcService !== undefined) return probeGrpc(host, port, grpcService, timeoutMs);
    return path === undefined ? this.probeTcp() : this.probeHttp(path);
  }

  private probeTcp(): Promise<ProbeResult> {
    const { host, port, timeoutMs } = this.options;
    return new Promise((resolve) => {
      const socket = net.connect({ host, port });
      const done = (result: ProbeResult): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const timer = setTimeout(() => done({ ok: false, reason: `no TCP connect to ${this.target} within ${timeoutMs} ms` }), timeoutMs);
      socket.once('connect', () => done(this.sidecarAnswered(socket) ?? { ok: true, reason: `TCP connect to ${this.target} succeeded` }));
      socket.once('error', (err) => done({ ok: false, reason: `TCP connect to ${this.target} failed: ${err.message}` }));
    });
  }

  /**
   * Startup refuses an app port equal to one of the sidecar's, but the address a probe names is not proof of what
   * answered it; the peer of the connection is. A connect or reply from the sidecar's own listener says nothing
   * about the app, so it is a failed probe, never a healthy one.
   */
  private sidecarAnswered(socket: net.Socket): ProbeResult | undefined {
    const { remoteAddress, remotePort } = socket;
    if (remoteAddress === undefined || remotePort === undefined) return undefined;
    const own = this.options.ownListeners.find((listener) => listener.port === remotePort && hostsOverlap(listener.host, remoteAddress));
    if (!own) return undefined;
    return { ok: false, reason: `${this.target} reached the sidecar's own listener ${formatHostPort(own.host, own.port)}, not the app` };
  }

  private probeHttp(path: string): Promise<ProbeResult> {
    const { host, port, timeoutMs } = this.options;
    return new Promise((resolve) => {
      let settled = false;
      const done = (result: ProbeResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        resolve(result);
      };
      // A fresh connection per probe: a pooled socket could outlive the app it was opened to.
      const req = http.request({ host, port, path, method: 'GET', agent: false, headers: { 'user-agent': 'weft-health-check' } }, (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        const sidecar = this.sidecarAnswered(res.socket);
        if (sidecar) done(sidecar);
        else if (status >= 200 && status < 400) done({ ok: true, reason: `GET ${this.target} answered ${status}` });
        else done({ ok: false, reason: `GET ${this.target} answered ${status}` });
      });
      const timer = setTimeout(() => done({ ok: false, reason: `GET ${this.target} did not answer within ${timeoutMs} ms` }), timeoutMs);
      req.once('error', (err) => done({ ok: false, reason: `GET ${this.target} failed: ${err.message}` }));
      req.end();
    });
  }
}

function appHealthyGauge(registry: Registry): Gauge {
  const name = 'weft_app_healthy';
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Gauge) return existing;
  return new Gauge({ name, help: '1 while the local app passes its health check, else 0', registers: [registry] });
}
