// TCP: the passing tcp endpoints of one upstream service behind a balancer, kept fresh from snapshots, and how each is dialled (plaintext or mTLS).
import { createBalancer, type Balancer, type Picker } from '../balance/index.js';
import type { Runtime } from '../core/index.js';
import { POLICY_DEFAULTS, type BalancerKind, type Endpoint, type ServicePolicy, type Snapshot, type SnapshotSource } from '../model/index.js';
import { DIALLING_NOTES, NO_CERTIFICATE_YET, type Dialling, type MeshTls } from '../security/tls/index.js';
import { tcpConnector, type Connector } from '../transport/index.js';
import { boundedConnector } from './bounded-connector.js';

const NO_ENDPOINTS: readonly Endpoint[] = [];
/** Endpoint ids already warned about; bounded so that a churning registry cannot grow it. */
const MAX_WARNED = 1024;

export interface TcpUpstreamEndpointsOptions {
  readonly runtime: Runtime;
  readonly snapshots: SnapshotSource;
  readonly service: string;
  /** The algorithm when the service's policy leaves it at the default (the sidecar's --lb for the service). */
  readonly balancer?: BalancerKind;
  /** How the service is dialled: mTLS when its mode (its policy's `mtls`, else the mesh default) says so and we hold a certificate; absent: plaintext always. */
  readonly mtls?: MeshTls;
  readonly connectTimeoutMs: number;
}

/**
 * An endpoint is kept when it is passing, speaks `tcp` and has a dialable address: raw bytes sent to a port that
 * speaks HTTP would reach a peer that cannot read them, so instances of other protocols are left out (and logged once).
 */
export class TcpUpstreamEndpoints {
  /** The picker of the current passing endpoints; a connection picks from the one it finds here. */
  picker: Picker;
  /** How many endpoints the picker chooses from. */
  count = 0;
  private kind: BalancerKind;
  private balancer: Balancer;
  private policy: ServicePolicy | undefined;
  private seen: readonly Endpoint[] | null = null;
  private dialled: Dialling | null = null;
  private readonly plain: Connector;
  private readonly tlsConnectors = new WeakMap<Endpoint, { readonly generation: number; readonly connector: Connector }>();
  private readonly warned = new Set<string>();
  private readonly unsubscribe: () => void;

  constructor(private readonly options: TcpUpstreamEndpointsOptions) {
    this.plain = tcpConnector(options.connectTimeoutMs);
    const snapshot = options.snapshots.current();
    this.policy = snapshot.policies.get(options.service);
    this.kind = this.kindOf(this.policy);
    this.balancer = createBalancer(this.kind, options.runtime.rng, options.service, { clock: options.runtime.clock });
    this.picker = this.balancer.update(NO_ENDPOINTS);
    this.refresh(snapshot);
    this.unsubscribe = options.snapshots.subscribe((next) => this.refresh(next));
  }

  /** The connector for one endpoint now: mTLS expecting the service's SPIFFE id, or plaintext; either held to connectTimeoutMs. */
  connectorFor(endpoint: Endpoint): Connector {
    const mtls = this.options.mtls;
    const dialling = mtls === undefined ? 'plaintext' : mtls.dialling(mtls.modeOf(this.policy));
    if (dialling !== this.dialled) {
      this.dialled = dialling;
      this.options.runtime.logger.info({ upstream: this.options.service, mtls: dialling === 'mtls', dialling }, `tcp upstream ${DIALLING_NOTES[dialling]}`);
    }
    // A strict service is never dialled in plaintext, not even before our first certificate: the app's first bytes
    // (a password, a startup message) would cross unencrypted before the peer refused them.
    if (dialling === 'refused') return NO_CERTIFICATE_YET;
    if (dialling === 'plaintext' || mtls === undefined) return this.plain;
    const cached = this.tlsConnectors.get(endpoint);
    // A new mesh or identity (the generation moves) makes new connectors: the expected SPIFFE id names the trust domain.
    if (cached !== undefined && cached.generation === mtls.generation) return cached.connector;
    const connector = boundedConnector(mtls.connectorFor(endpoint), this.options.connectTimeoutMs);
    this.tlsConnectors.set(endpoint, { generation: mtls.generation, connector });
    return connector;
  }

  close(): void {
    this.unsubscribe();
  }

  private kindOf(policy: ServicePolicy | undefined): BalancerKind {
    const named = policy?.loadBalancer.algorithm;
    // The policy's default algorithm stands for "not named", so the sidecar's own choice applies (as for HTTP upstreams).
    if (named !== undefined && named !== POLICY_DEFAULTS.loadBalancer.algorithm) return named;
    return this.options.balancer ?? POLICY_DEFAULTS.loadBalancer.algorithm;
  }

  private refresh(snapshot: Snapshot): void {
    const { runtime, service } = this.options;
    this.policy = snapshot.policies.get(service);
    const kind = this.kindOf(this.policy);
    const all = snapshot.services.get(service) ?? NO_ENDPOINTS;
    if (kind === this.kind && all === this.seen) return;
    if (kind !== this.kind) {
      this.kind = kind;
      this.balancer = createBalancer(kind, runtime.rng, service, { clock: runtime.clock });
      runtime.logger.info({ upstream: service, lb: kind }, 'tcp upstream balancer changed');
    }
    this.seen = all;
    const usable = all.filter((endpoint) => endpoint.health === 'passing' && this.speaksTcp(endpoint));
    this.picker = this.balancer.update(usable);
    this.count = usable.length;
  }

  private speaksTcp(endpoint: Endpoint): boolean {
    const problem = endpoint.undialable ?? (endpoint.protocol === 'tcp' ? undefined : `it speaks ${endpoint.protocol}, not tcp`);
    if (problem === undefined) return true;
    if (!this.warned.has(endpoint.id)) {
      if (this.warned.size < MAX_WARNED) this.warned.add(endpoint.id);
      this.options.runtime.logger.warn({ upstream: this.options.service, endpoint: endpoint.id, reason: problem }, 'an endpoint of this tcp upstream is left out: no connection goes to it');
    }
    return false;
  }
}
