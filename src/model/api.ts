// Model: the REST API's paths and reply shapes, shared by the control-plane server and its clients.
import type { CaRotationStep } from './ca-rotation-steps.js';
import type { Instance } from './instance.js';
import type { MtlsMode, ServicePolicy } from './policy.js';
import { POLICY_KIND_TABLE, type KindPolicy, type PolicyKind } from './policy-kinds.js';

export const API_PREFIX = '/api/v1';

/** Response header of GET /watch naming the store's identity; sent back as ?store= when resuming. */
export const STORE_HEADER = 'x-weft-store';

export const apiPaths = {
  instance: (id: string) => `${API_PREFIX}/instances/${encodeURIComponent(id)}`,
  heartbeat: (id: string) => `${API_PREFIX}/instances/${encodeURIComponent(id)}/heartbeat`,
  services: () => `${API_PREFIX}/services`,
  serviceInstances: (name: string) => `${API_PREFIX}/services/${encodeURIComponent(name)}/instances`,
  policies: () => `${API_PREFIX}/policies`,
  policy: (service: string) => `${API_PREFIX}/policies/${encodeURIComponent(service)}`,
  /** GET: every policy of a table kind (e.g. /api/v1/authorization-policies). */
  kindPolicies: (kind: PolicyKind) => `${API_PREFIX}/${POLICY_KIND_TABLE[kind].apiPath}`,
  /** PUT, GET, DELETE: one service's policy of a table kind. */
  kindPolicy: (kind: PolicyKind, service: string) => `${API_PREFIX}/${POLICY_KIND_TABLE[kind].apiPath}/${encodeURIComponent(service)}`,
  /** GET (open): what a sidecar needs before it has credentials — trust domain, default mTLS mode, whether the API wants credentials. */
  mesh: () => `${API_PREFIX}/mesh`,
  /** GET (open): the roots every workload trusts. */
  trustBundle: () => `${API_PREFIX}/trust-bundle`,
  /** POST: sign a workload's CSR (join token, the workload's current certificate, or an admin token); GET: the latest certificate issued to each sidecar. */
  certificates: () => `${API_PREFIX}/certificates`,
  /** GET: the CA's status (source, rotation phase, roots). */
  ca: () => `${API_PREFIX}/ca`,
  /** POST (admin): one rotation step of a managed CA. */
  caStep: (step: CaRotationStep) => `${API_PREFIX}/ca/${step}`,
  /** POST (admin): create a token; GET (admin): list tokens (never their secrets). */
  tokens: () => `${API_PREFIX}/tokens`,
  /** DELETE (admin): revoke a token by its id. */
  token: (id: string) => `${API_PREFIX}/tokens/${encodeURIComponent(id)}`,
  watch: (since?: number, store?: string) =>
    `${API_PREFIX}/watch${since === undefined ? '' : `?since=${since}${store ? `&store=${encodeURIComponent(store)}` : ''}`}`,
} as const;

export { CA_ROTATION_STEPS, type CaRotationStep } from './ca-rotation-steps.js';

// The modes belong to the ServicePolicy (its `mtls` field); the mesh's default is one of them.
export { MTLS_MODES, type MtlsMode } from './policy.js';

/** Reply of GET /mesh. */
export interface MeshReply {
  readonly trustDomain: string;
  /** The mTLS mode of a service whose ServicePolicy names none: strict, or disabled under `--dev`. */
  readonly mtlsDefault: MtlsMode;
  /** False under `--dev`: the API takes every call without credentials. */
  readonly authRequired: boolean;
}

/** Reply of GET /trust-bundle. */
export interface TrustBundleReply {
  readonly trustDomain: string;
  /** Every root, PEM, concatenated: a TLS `ca` option. */
  readonly pem: string;
  readonly roots: readonly string[];
}

/** Body of POST /certificates. */
export interface CertificateRequest {
  readonly service: string;
  /** PKCS#10, PEM, naming spiffe://<trust-domain>/service/<service> as its only URI SAN. */
  readonly csr: string;
  /** A stable id of the asking sidecar process, so `weft certs` can show what each one holds. */
  readonly sidecar?: string;
  /** The registered instance the sidecar fronts, if any. */
  readonly instance?: string;
}

/** Reply of POST /certificates. */
export interface CertificateReply {
  readonly spiffeId: string;
  /** Leaf then intermediates, PEM: a TLS `cert` option. */
  readonly certificateChain: string;
  readonly trustBundle: TrustBundleReply;
  readonly serial: string;
  /** ISO 8601. */
  readonly notBefore: string;
  readonly notAfter: string;
}

/** One sidecar's latest certificate, as the control plane issued it (GET /certificates). */
export interface IssuedCertificateRecord {
  readonly sidecar: string;
  readonly service: string;
  readonly instance?: string;
  readonly spiffeId: string;
  readonly serial: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** Id (SHA-256 fingerprint) of the root or intermediate that signed it. */
  readonly signedBy: string;
  readonly issuedAt: string;
}

/** One root (or external intermediate) of the CA, as GET /ca reports it. */
export interface CaAuthorityInfo {
  readonly id: string;
  readonly subject: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly fingerprintSha256: string;
  readonly signing: boolean;
}

/** Reply of GET /ca and of the rotation steps. */
export interface CaStatusReply {
  readonly trustDomain: string;
  readonly source: 'managed' | 'external';
  readonly phase: 'steady' | 'new-root-trusted' | 'new-root-signing';
  /** ISO 8601; absent for an external CA. */
  readonly phaseSince?: string;
  readonly authorities: readonly CaAuthorityInfo[];
}

export interface CertificatesReply {
  readonly certificates: readonly IssuedCertificateRecord[];
}

export type TokenKind = 'admin' | 'join';

/** A token as listed: never its secret. */
export interface TokenInfo {
  readonly id: string;
  readonly kind: TokenKind;
  /** The service a join token may act for. */
  readonly service?: string;
  readonly description?: string;
  readonly createdAt: string;
  readonly expiresAt?: string;
}

/** Body of POST /tokens. */
export interface TokenCreateRequest {
  readonly kind: TokenKind;
  readonly service?: string;
  /** Lifetime in milliseconds; join tokens default to 24 h, admin tokens never expire unless told. */
  readonly ttlMs?: number;
  readonly description?: string;
}

/** Reply of POST /tokens: the secret, shown this once. */
export interface TokenCreatedReply {
  readonly token: string;
  readonly info: TokenInfo;
}

export interface TokensReply {
  readonly tokens: readonly TokenInfo[];
}

export interface ServiceSummary {
  readonly name: string;
  readonly instances: number;
  readonly passing: number;
  readonly critical: number;
}

/** Reply of PUT /instances/{id}, DELETE /instances/{id} and PUT /instances/{id}/heartbeat. */
export interface InstanceReply {
  readonly version: number;
  readonly instance: Instance;
}

export interface ServicesReply {
  readonly version: number;
  readonly services: readonly ServiceSummary[];
}

export interface InstancesReply {
  readonly version: number;
  readonly service: string;
  readonly instances: readonly Instance[];
}

/** Reply of PUT and GET /policies/{service}; `changed` (PUT only) is false when the stored policy already said the same. */
export interface PolicyReply {
  readonly version: number;
  readonly policy: ServicePolicy;
  readonly changed?: boolean;
}

export interface PoliciesReply {
  readonly version: number;
  readonly policies: readonly ServicePolicy[];
}

/** Reply of DELETE /policies/{service}. */
export interface PolicyRemovedReply {
  readonly version: number;
  readonly service: string;
}

/** Reply of PUT and GET on a table kind's policy; `changed` as for PolicyReply. */
export interface KindPolicyReply {
  readonly version: number;
  readonly policy: KindPolicy;
  readonly changed?: boolean;
}

export interface KindPoliciesReply {
  readonly version: number;
  readonly policies: readonly KindPolicy[];
}

/** Reply of DELETE on a table kind's policy. */
export interface KindPolicyRemovedReply {
  readonly version: number;
  readonly kind: PolicyKind;
  readonly service: string;
}

/** Every error reply of the API: a stable code, a message, and for validation errors the offending field. */
export interface ErrorReply {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
}
