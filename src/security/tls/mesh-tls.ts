// Security/TLS: what a workload's listeners and pools need to speak mTLS — the mesh's trust domain and default mode, our identity, and connectors that count failed handshakes.
import { speaksHttp2, type Endpoint, type MeshReply, type MtlsMode, type ServicePolicy } from '../../model/index.js';
import type { Connector } from '../../transport/index.js';
import { formatSpiffeId } from '../identity.js';
import { HTTP1_ONLY_ALPN, HTTP2_ALPN, mtlsConnector } from './mtls-connector.js';
import type { MtlsRefusals } from './mtls-listener.js';
import type { WorkloadIdentity } from './workload-identity.js';

/** How calls to a service go out now: over mTLS, in plaintext, or not at all (strict, and no certificate held yet). */
export type Dialling = 'mtls' | 'plaintext' | 'refused';

/** How a pool's log names the way its service is dialled, from the words `upstream` (or `tcp upstream`) on. */
export const DIALLING_NOTES: Readonly<Record<Dialling, string>> = {
  mtls: 'dialled with mTLS',
  plaintext: 'dialled in plaintext',
  refused: 'not dialled until the first workload certificate (its mtls is strict)',
};

/** Fails each connect: no certificate is held yet to dial a strict service with. */
export const NO_CERTIFICATE_YET: Connector = (_target, callback) =>
  queueMicrotask(() => callback(new Error('no workload certificate yet: a strict service is dialled only over mTLS'), null));

/** Fixed values of the `reason` label of weft_proxy_mtls_handshake_failures_total. */
export const HANDSHAKE_FAILURE_REASONS = ['peer_identity_mismatch', 'peer_untrusted', 'handshake'] as const;
export type HandshakeFailureReason = (typeof HANDSHAKE_FAILURE_REASONS)[number];

export interface MeshTlsOptions {
  /** Handshake limit of one outbound mTLS connection. */
  readonly connectTimeoutMs: number;
}

/**
 * The sidecar's mTLS state, filled in as it is learned: the mesh (GET /mesh) and then our first certificate.
 * `generation` goes up at each of those, so an upstream can tell with one comparison per request whether
 * the way it dials its service may have changed. Until the mesh is known the default is `strict` (the safe
 * guess: nothing is served in plaintext that should not be); without an identity, outbound calls to a strict
 * service are refused and the others go in plaintext.
 */
export class MeshTls {
  generation = 0;
  trustDomain = '';
  defaultMode: MtlsMode = 'strict';
  /** False while the control plane has not said; true once GET /mesh answered. */
  meshKnown = false;
  identity: WorkloadIdentity | null = null;
  /** Outbound handshakes that failed, by reason; inbound refusals are the listener's own counts. */
  readonly outboundFailures: Record<HandshakeFailureReason, number> = { peer_identity_mismatch: 0, peer_untrusted: 0, handshake: 0 };
  /** The inbound listener's refusals, once there is one. */
  inbound: MtlsRefusals | null = null;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: MeshTlsOptions) {}

  setMesh(mesh: Pick<MeshReply, 'trustDomain' | 'mtlsDefault'>): void {
    this.trustDomain = mesh.trustDomain;
    this.defaultMode = mesh.mtlsDefault;
    this.meshKnown = true;
    this.changed();
  }

  setIdentity(identity: WorkloadIdentity): void {
    this.identity = identity;
    this.changed();
  }

  /** The mode a service is reached in: its policy's `mtls`, else the mesh default. */
  modeOf(policy: ServicePolicy | undefined): MtlsMode {
    return policy?.mtls ?? this.defaultMode;
  }

  /**
   * How calls to a service in `mode` go out now: strict and permissive over mTLS once we hold a certificate. Before it, a
   * strict service is not dialled at all: the first bytes of a call (a token, a password) would cross unencrypted before
   * its sidecar refused them.
   */
  dialling(mode: MtlsMode): Dialling {
    if (mode === 'disabled') return 'plaintext';
    if (this.identity !== null) return 'mtls';
    return mode === 'strict' ? 'refused' : 'plaintext';
  }

  /** Called after the mesh or the identity changed. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The connector of one endpoint's pool: mTLS with our identity, expecting the endpoint's service's SPIFFE id. */
  connectorFor(endpoint: Endpoint): Connector {
    const identity = this.identity;
    if (identity === null) throw new Error('MeshTls.connectorFor needs an identity');
    const connect = mtlsConnector({
      identity,
      expectedSpiffeId: formatSpiffeId({ trustDomain: this.trustDomain, service: endpoint.service }),
      alpn: speaksHttp2(endpoint.protocol) ? HTTP2_ALPN : HTTP1_ONLY_ALPN,
      timeoutMs: this.options.connectTimeoutMs,
    });
    return (target, callback) =>
      connect(target, (...args) => {
        if (args[0] !== null) this.countFailure(args[0]);
        callback(...args);
      });
  }

  private countFailure(error: Error): void {
    const code = (error as { code?: unknown }).code;
    // Sockets that never reached a handshake (refused, unreachable) are connect failures, not TLS ones.
    if (code === 'PEER_IDENTITY_MISMATCH') this.outboundFailures.peer_identity_mismatch++;
    else if (code === 'PEER_UNTRUSTED') this.outboundFailures.peer_untrusted++;
    else if (code !== 'ECONNREFUSED' && code !== 'EHOSTUNREACH' && code !== 'ENETUNREACH') this.outboundFailures.handshake++;
  }

  private changed(): void {
    this.generation++;
    for (const listener of this.listeners) listener();
  }
}
