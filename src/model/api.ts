// Model: the REST API's paths and reply shapes, shared by the control-plane server and its clients.
import type { Instance } from './instance.js';
import type { ServicePolicy } from './policy.js';
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
  watch: (since?: number, store?: string) =>
    `${API_PREFIX}/watch${since === undefined ? '' : `?since=${since}${store ? `&store=${encodeURIComponent(store)}` : ''}`}`,
} as const;

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
