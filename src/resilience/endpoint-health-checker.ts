// Resilience: active health checks of a service's upstream endpoints (HTTP, TCP or gRPC), run by the calling sidecar.
import type { Clock, Rng } from '../core/index.js';
import type { ProbeResult } from './app-health-check.js';
import { guardedProbe, probeHttp, probeTcp } from './endpoint-probes.js';
import { probeGrpc } from './grpc-health-probe.js';

/** The policy's healthCheck block: exactly one of http, tcp, grpc, plus cadence and thresholds. */
export interface EndpointHealthCheckOptions {
  readonly http?: { readonly path: string };
  readonly tcp?: Readonly<Record<string, never>>;
  readonly grpc?: { readonly service?: string };
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Failures in a row that mark an endpoint unhealthy. */
  readonly unhealthyThreshold: number;
  /** Successes in a row that bring an unhealthy endpoint back. */
  readonly healthyThreshold: number;
  /** Each interval varies by up to ± this share (0–1); 0.1 unless set. */
  readonly jitter?: number;
}

export interface EndpointHealthCheckDeps {
  readonly clock: Clock;
  readonly rng: Rng;
  /** Every change of an endpoint's status, for logs, metrics and rebuilding the picker. */
  readonly onChange?: (id: string, status: EndpointHealth, reason: string) => void;
}

/** `unknown` until the first probe answers; the checker treats it as healthy (the registry already lists the endpoint). */
export type EndpointHealth = 'unknown' | 'healthy' | 'unhealthy';

export interface CheckedEndpoint {
  readonly id: string;
  readonly host: string;
  readonly port: number;
}

interface Target {
  readonly endpoint: CheckedEndpoint;
  status: EndpointHealth;
  streak: number;
  reason: string;
  timer: NodeJS.Timeout | undefined;
  inFlight: Promise<ProbeResult> | undefined;
  stopped: boolean;
}

/**
 * One checker per upstream service, in the calling sidecar: it sees the endpoint over the same network path its
 * requests take, which the instance's own sidecar (checking its app on localhost) cannot. sync() with the endpoints of
 * each snapshot starts checks for new endpoints and stops them for gone ones. First probes are spread uniformly over
 * one interval and later ones jittered, so many sidecars do not probe one endpoint in step. Timers are per endpoint,
 * never per request; the request path only calls eligible() or status().
 */
export class EndpointHealthChecker {
  private readonly targets = new Map<string, Target>();
  private readonly probe: (endpoint: CheckedEndpoint) => Promise<ProbeResult>;
  private readonly jitter: number;
  private version = 0;
  private cachedInput: readonly CheckedEndpoint[] | undefined;
  private cachedOutput: readonly CheckedEndpoint[] = [];
  private cachedVersion = -1;
  private unhealthyCount = 0;

  constructor(private readonly options: EndpointHealthCheckOptions, private readonly deps: EndpointHealthCheckDeps) {
    const kinds = [options.http, options.tcp, options.grpc].filter((kind) => kind !== undefined).length;
    if (kinds !== 1) throw new RangeError('a health check takes exactly one of http, tcp, grpc');
    if (!(options.intervalMs > 0)) throw new RangeError('intervalMs must be > 0');
    if (!(options.timeoutMs > 0)) throw new RangeError('timeoutMs must be > 0');
    if (!(options.unhealthyThreshold >= 1) || !(options.healthyThreshold >= 1)) throw new RangeError('thresholds must be ≥ 1');
    this.jitter = Math.min(1, Math.max(0, options.jitter ?? 0.1));
    const { timeoutMs } = options;
    const http = options.http;
    const grpc = options.grpc;
    if (http) {
      const path = http.path.startsWith('/') ? http.path : `/${http.path}`;
      this.probe = (e) => guardedProbe(e.host, e.port, () => probeHttp(e.host, e.port, path, timeoutMs));
    } else if (grpc) {
      const service = grpc.service ?? '';
      this.probe = (e) => guardedProbe(e.host, e.port, () => probeGrpc(e.host, e.port, service, timeoutMs));
    } else {
      this.probe = (e) => guardedProbe(e.host, e.port, () => probeTcp(e.host, e.port, timeoutMs));
    }
  }

  /** The endpoints to check now: new ids start, gone ids stop, an id whose address changed starts over. */
  sync(endpoints: readonly CheckedEndpoint[]): void {
    const seen = new Set<string>();
    for (const endpoint of endpoints) {
      seen.add(endpoint.id);
      const current = this.targets.get(endpoint.id);
      if (current && current.endpoint.host === endpoint.host && current.endpoint.port === endpoint.port) continue;
      if (current) this.remove(current);
      this.add(endpoint);
    }
    for (const target of [...this.targets.values()]) if (!seen.has(target.endpoint.id)) this.remove(target);
  }

  status(id: string): EndpointHealth | undefined {
    return this.targets.get(id)?.status;
  }

  reason(id: string): string | undefined {
    return this.targets.get(id)?.reason;
  }

  /** The endpoints not marked unhealthy; the input itself when none is, a cached array while nothing changed. */
  eligible<T extends CheckedEndpoint>(endpoints: readonly T[]): readonly T[] {
    if (this.unhealthyCount === 0) return endpoints;
    if (this.cachedInput === endpoints && this.cachedVersion === this.version) return this.cachedOutput as readonly T[];
    const out = endpoints.filter((endpoint) => this.targets.get(endpoint.id)?.status !== 'unhealthy');
    this.cachedInput = endpoints;
    this.cachedOutput = out;
    this.cachedVersion = this.version;
    return out;
  }

  /** How many endpoints are in each status, for a gauge. */
  counts(): Record<EndpointHealth, number> {
    const counts: Record<EndpointHealth, number> = { unknown: 0, healthy: 0, unhealthy: 0 };
    for (const target of this.targets.values()) counts[target.status]++;
    return counts;
  }

  /** Probes one endpoint now (joining a probe under way) and applies the result; undefined for an unknown id. */
  async checkNow(id: string): Promise<ProbeResult | undefined> {
    const target = this.targets.get(id);
    return target ? this.run(target) : undefined;
  }

  /** Stops every check; sync() starts them again. */
  stop(): void {
    for (const target of [...this.targets.values()]) this.remove(target);
  }

  private add(endpoint: CheckedEndpoint): void {
    const target: Target = { endpoint, status: 'unknown', streak: 0, reason: 'not probed yet', timer: undefined, inFlight: undefined, stopped: false };
    this.targets.set(endpoint.id, target);
    this.schedule(target, this.deps.rng.next() * this.options.intervalMs);
  }

  private remove(target: Target): void {
    target.stopped = true;
    if (target.timer) clearTimeout(target.timer);
    target.timer = undefined;
    if (target.status === 'unhealthy') {
      this.unhealthyCount--;
      this.version++;
    }
    this.targets.delete(target.endpoint.id);
  }

  private schedule(target: Target, delayMs: number): void {
    if (target.stopped) return;
    target.timer = setTimeout(() => void this.tick(target), Math.max(0, delayMs));
    target.timer.unref();
  }

  private async tick(target: Target): Promise<void> {
    target.timer = undefined;
    const started = this.deps.clock.now();
    // Probes settle as results (guardedProbe); were one to fail anyway, the endpoint is probed again on the next tick.
    await this.run(target).catch(() => undefined);
    // The interval runs from probe start to probe start, so a slow endpoint does not stretch the cadence.
    const spread = this.options.intervalMs * this.jitter * (2 * this.deps.rng.next() - 1);
    this.schedule(target, this.options.intervalMs + spread - (this.deps.clock.now() - started));
  }

  private run(target: Target): Promise<ProbeResult> {
    if (!target.inFlight) {
      target.inFlight = this.probe(target.endpoint).then((result) => {
        target.inFlight = undefined;
        if (!target.stopped) this.record(target, result);
        return result;
      });
    }
    return target.inFlight;
  }

  /** The streak counts results against the current status: successes while unhealthy, failures otherwise. */
  private record(target: Target, result: ProbeResult): void {
    target.reason = result.reason;
    const { status } = target;
    if (result.ok) {
      if (status === 'unknown') return this.transition(target, 'healthy');
      if (status === 'healthy') {
        target.streak = 0;
        return;
      }
      if (++target.streak >= this.options.healthyThreshold) this.transition(target, 'healthy');
      return;
    }
    if (status === 'unhealthy') {
      target.streak = 0;
      return;
    }
    if (++target.streak >= this.options.unhealthyThreshold) this.transition(target, 'unhealthy');
  }

  private transition(target: Target, status: EndpointHealth): void {
    if (target.status === 'unhealthy') this.unhealthyCount--;
    if (status === 'unhealthy') this.unhealthyCount++;
    target.status = status;
    target.streak = 0;
    this.version++;
    this.deps.onChange?.(target.endpoint.id, status, target.reason);
  }
}
