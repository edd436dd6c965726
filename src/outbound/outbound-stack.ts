// Outbound: the stack of one target service — observe → logical → concrete (per subset) → endpoint — built once and kept fresh from the snapshot.
import type { Runtime } from '../core/index.js';
import type { Dispatch, RequestFacts } from '../http/index.js';
import type { Endpoint, ServicePolicy, Snapshot } from '../model/index.js';
import type { MeshTls } from '../security/tls/index.js';
import { ObserveStage, type AccessLog, type HopSink, type HopSpans, type InFlightGauge, type IstioDestination, type IstioPeerMetrics, type PolicyMetrics, type UpstreamMetrics } from '../telemetry/index.js';
import type { PoolOptions } from '../transport/index.js';
import { ConcreteStage } from './concrete.js';
import { EndpointStage } from './endpoint.js';
import { LogicalStage } from './logical.js';
import { UpstreamPolicy, type SidecarDefaults } from './service-policy.js';

const NO_ENDPOINTS: readonly Endpoint[] = [];

export interface OutboundStackOptions {
  readonly runtime: Runtime;
  readonly service: string;
  /** What applies where the service's policy is absent or silent. */
  readonly defaults: SidecarDefaults;
  readonly connectTimeoutMs: number;
  /** A peer sidecar's 503 APP_UNAVAILABLE is a failed attempt (true between sidecars). */
  readonly peerAppUnavailableFails: boolean;
  readonly pool?: PoolOptions;
  readonly metrics: UpstreamMetrics;
  readonly policyMetrics: PolicyMetrics;
  readonly inFlight: InFlightGauge;
  /** Null when access logging is off. */
  readonly accessLog: AccessLog | null;
  /** CLIENT spans of requests to this service; null when tracing is off. */
  readonly spans: HopSpans | null;
  /** The service this workload belongs to ('' for none), the source of its outbound requests. */
  readonly localService: string;
  /** Istio-compatible series for this service; null when they are off. */
  readonly istio: IstioDestination | null;
  /** How the service is dialled (its policy's mtls, else the mesh default); absent: plaintext always. */
  readonly mtls?: MeshTls;
}

/** Subsets select by meta, so a changed meta is a changed endpoint. */
function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y && (x.id !== y.id || x.address !== y.address || x.weight !== y.weight || !sameMeta(x.meta, y.meta))) return false;
  }
  return true;
}

function sameMeta(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  let count = 0;
  for (const key in a) {
    if (a[key] !== b[key]) return false;
    count++;
  }
  for (const _ in b) count--;
  return count === 0;
}

/**
 * Built once per target service; a request only runs `dispatch`. The policy is recompiled when the snapshot's policy
 * object for the service changes identity and swapped whole (requests keep the one they started with); the concrete
 * stages are rebuilt with it; pickers are republished when the passing endpoints change.
 */
export class OutboundStack implements HopSink {
  readonly service: string;
  readonly dispatch: Dispatch;
  policy: UpstreamPolicy;
  readonly endpoint: EndpointStage;
  readonly observe: ObserveStage;
  private seen: readonly Endpoint[] | null = null;
  private passing: readonly Endpoint[] = NO_ENDPOINTS;

  constructor(readonly options: OutboundStackOptions) {
    this.service = options.service;
    this.endpoint = new EndpointStage({
      runtime: options.runtime,
      service: options.service,
      connectTimeoutMs: options.connectTimeoutMs,
      ...(options.pool ? { pool: options.pool } : {}),
      ...(options.mtls ? { mtls: options.mtls } : {}),
      policySource: () => this.policy.source,
    });
    this.policy = this.compile(undefined);
    const logical = new LogicalStage({
      runtime: options.runtime,
      service: options.service,
      localService: options.localService,
      metrics: options.metrics,
      policyMetrics: options.policyMetrics,
      policy: () => this.policy,
    });
    this.observe = new ObserveStage(logical.dispatch, {
      direction: 'outbound',
      clock: options.runtime.clock,
      inFlight: options.inFlight,
      accessLog: options.accessLog,
      sinkOf: () => this,
    });
    this.dispatch = this.observe.dispatch;
  }

  // HopSink: what this service's requests record into.

  get metrics(): UpstreamMetrics {
    return this.options.metrics;
  }

  get spans(): HopSpans | null {
    return this.options.spans;
  }

  get istioEnabled(): boolean {
    return this.options.istio !== null;
  }

  istio(facts: RequestFacts): IstioPeerMetrics | null {
    return this.options.istio?.version(facts.endpoint?.meta['version'] ?? '') ?? null;
  }

  /** Applies the snapshot: a new policy when the service's changed, new pickers when its endpoints did. */
  refresh(snapshot: Snapshot): void {
    const source = snapshot.policies.get(this.service);
    if (source !== this.policy.source) {
      const previous = this.policy;
      const next = this.compile(source);
      next.update(this.passing);
      this.policy = next;
      previous.stop();
      this.options.runtime.logger.info({ upstream: this.service, policy: source === undefined ? 'default' : 'applied' }, 'upstream policy changed');
    }
    this.endpoint.applyTls();
    const all = snapshot.services.get(this.service) ?? NO_ENDPOINTS;
    if (all === this.seen) return;
    this.seen = all;
    const passing = all.filter((endpoint) => endpoint.health === 'passing' && this.endpoint.dialable(endpoint));
    this.options.metrics.endpoints(passing.length, all.length - passing.length);
    if (sameEndpoints(passing, this.passing)) return;
    this.passing = passing;
    this.policy.update(passing);
    this.endpoint.pools.retain(passing);
  }

  destroy(): void {
    this.policy.stop();
    this.endpoint.destroy();
  }

  private compile(source: ServicePolicy | undefined): UpstreamPolicy {
    const { runtime, defaults, policyMetrics } = this.options;
    const concrete = {
      clock: runtime.clock,
      policyMetrics,
      endpoint: this.endpoint.dispatch,
      peerAppUnavailableFails: this.options.peerAppUnavailableFails,
    };
    return new UpstreamPolicy(source, {
      runtime,
      service: this.service,
      defaults,
      metrics: policyMetrics,
      concrete: (target, policy) => new ConcreteStage(target, policy, concrete).dispatch,
    });
  }
}
