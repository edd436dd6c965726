// Proxy: one upstream service of the outbound server: its compiled policy and pools, and the exchange that applies the policy per request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Runtime } from '../core/index.js';
import type { Endpoint, ServicePolicy, Snapshot } from '../model/index.js';
import { EndpointPools, type ForwardOptions, type PoolOptions } from '../transport/index.js';
import type { AccessLog, HopSpans, HopTracer, InFlightGauge, IstioDestination, PolicyMetrics, UpstreamMetrics } from '../telemetry/index.js';
import type { Drain } from './drain.js';
import type { MeshTls } from '../security/tls/index.js';
import { OutboundExchange } from './outbound-exchange.js';
import { UpstreamPolicy, type SidecarDefaults } from './upstream-policy.js';

const NO_ENDPOINTS: readonly Endpoint[] = [];

export interface UpstreamOptions {
  readonly runtime: Runtime;
  readonly service: string;
  /** What applies where the service's policy is absent or silent. */
  readonly defaults: SidecarDefaults;
  readonly forward: ForwardOptions;
  readonly pool?: PoolOptions;
  readonly metrics: UpstreamMetrics;
  readonly policyMetrics: PolicyMetrics;
  readonly inFlight: InFlightGauge;
  readonly drain: Drain;
  /** Null when access logging is off. */
  readonly accessLog: AccessLog | null;
  /** Null when tracing is off. */
  readonly tracing: HopTracer | null;
  /** The service this sidecar belongs to ('' for none), the source of its outbound requests. */
  readonly localService: string;
  /** Istio-compatible series for this service; null when they are off. */
  readonly istio: IstioDestination | null;
  /** How the service is dialled (its policy's mtls, else the mesh default); absent: plaintext always. */
  readonly mtls?: MeshTls;
}

function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.id !== y.id || x.address !== y.address || x.weight !== y.weight || !sameMeta(x.meta, y.meta)) return false;
  }
  return true;
}

/** Subsets select by meta, so a changed meta is a changed endpoint. */
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
 * Built once per service; the request path reads its current policy and pools only. The policy is recompiled when
 * the snapshot's policy object for the service changes identity and swapped whole; pools are per endpoint and stay,
 * except when the way the service is dialled changes (plaintext ↔ mTLS): then every pool is replaced and the old ones
 * retire gracefully (requests on them finish, their idle sockets close).
 */
export class Upstream {
  readonly service: string;
  policy: UpstreamPolicy;
  pools: EndpointPools;
  /** Whether the current pools dial mTLS, and the MeshTls generation that was decided at. */
  private tls = false;
  private tlsGeneration = -1;
  /** CLIENT spans of requests to this service, bound once; null when tracing is off. */
  readonly spans: HopSpans | null;
  private seen: readonly Endpoint[] | null = null;
  private passing: readonly Endpoint[] = NO_ENDPOINTS;

  constructor(readonly options: UpstreamOptions) {
    this.service = options.service;
    this.policy = this.compile(undefined);
    this.pools = this.makePools();
    this.spans = options.tracing?.outbound(options.service) ?? null;
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
    this.applyTls();
    const all = snapshot.services.get(this.service) ?? NO_ENDPOINTS;
    if (all === this.seen) return;
    this.seen = all;
    const passing = all.filter((endpoint) => endpoint.health === 'passing' && this.dialable(endpoint));
    this.options.metrics.endpoints(passing.length, all.length - passing.length);
    if (sameEndpoints(passing, this.passing)) return;
    this.passing = passing;
    this.policy.update(passing);
    this.pools.retain(passing);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    // The first certificate (or the mesh's default) arrives outside snapshots: one comparison tells.
    if (this.options.mtls !== undefined && this.options.mtls.generation !== this.tlsGeneration) this.applyTls();
    new OutboundExchange(this, this.policy, req, res).start();
  }

  destroy(): void {
    this.policy.stop();
    this.pools.destroy();
  }

  /** Replaces the pools when the service's mode or our identity changes between plaintext and mTLS dialling. */
  private applyTls(): void {
    const mtls = this.options.mtls;
    if (mtls === undefined) return;
    this.tlsGeneration = mtls.generation;
    const tls = mtls.dialsTls(mtls.modeOf(this.policy.source));
    if (tls === this.tls) return;
    this.tls = tls;
    const previous = this.pools;
    this.pools = this.makePools();
    previous.retireAll();
    this.options.runtime.logger.info({ upstream: this.service, mtls: tls }, tls ? 'upstream dialled with mTLS' : 'upstream dialled in plaintext');
  }

  /** Addresses already reported as undialable: each is logged once, however often its pool is rebuilt. */
  private readonly undialable = new Set<string>();
  private readonly warnUndialable = (address: string, reason: string): void => {
    if (this.undialable.has(address)) return;
    if (this.undialable.size < 1024) this.undialable.add(address);
    this.options.runtime.logger.warn({ upstream: this.service, reason }, 'an endpoint of this service cannot be dialled: no request goes to it');
  };

  /** An endpoint whose address no socket can take is left out of balancing, as if it were failing its checks. */
  private dialable(endpoint: Endpoint): boolean {
    if (endpoint.undialable === undefined) return true;
    this.warnUndialable(endpoint.address, endpoint.undialable);
    return false;
  }

  private makePools(): EndpointPools {
    const { forward, pool, mtls } = this.options;
    const options = { connectTimeoutMs: forward.connectTimeoutMs, ...pool, onUndialable: this.warnUndialable };
    return this.tls && mtls !== undefined ? new EndpointPools(options, (endpoint) => mtls.connectorFor(endpoint)) : new EndpointPools(options);
  }

  private compile(source: ServicePolicy | undefined): UpstreamPolicy {
    const { runtime, defaults, policyMetrics } = this.options;
    return new UpstreamPolicy(source, { runtime, service: this.service, defaults, metrics: policyMetrics });
  }
}

