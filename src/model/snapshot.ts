// Model: the immutable view of the mesh that the data plane reads; replaced whole on every change.
import { endpointFromInstance, type Endpoint } from './endpoint.js';
import type { Instance } from './instance.js';
import type { ServicePolicy } from './policy.js';
import { EMPTY_KIND_POLICIES, type KindPolicyMaps } from './policy-kinds.js';

export interface Snapshot {
  /** Registry version this snapshot reflects. */
  readonly version: number;
  /** Every known endpoint by service name, passing and critical alike, sorted by id. */
  readonly services: ReadonlyMap<string, readonly Endpoint[]>;
  /**
   * The validated, defaulted policy of each service that has one; a service without one behaves by
   * defaultPolicy(). A policy object keeps its identity from one snapshot to the next until it changes.
   */
  readonly policies: ReadonlyMap<string, ServicePolicy>;
  /** Policies of the other kinds (AuthorizationPolicy, ...) by kind and service; same identity rule as `policies`. */
  readonly kindPolicies: KindPolicyMaps;
}

export const NO_POLICIES: ReadonlyMap<string, ServicePolicy> = new Map();

export const EMPTY_SNAPSHOT: Snapshot = { version: 0, services: new Map(), policies: NO_POLICIES, kindPolicies: EMPTY_KIND_POLICIES };

/** Builds a snapshot; `policies` is held as given, so pass a map that is never mutated afterwards. */
export function snapshotFromInstances(
  version: number,
  instances: Iterable<Instance>,
  policies: ReadonlyMap<string, ServicePolicy> = NO_POLICIES,
  kindPolicies: KindPolicyMaps = EMPTY_KIND_POLICIES,
): Snapshot {
  const grouped = new Map<string, Endpoint[]>();
  for (const instance of instances) {
    let list = grouped.get(instance.service);
    if (!list) grouped.set(instance.service, (list = []));
    list.push(endpointFromInstance(instance));
  }
  for (const list of grouped.values()) list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { version, services: grouped, policies, kindPolicies };
}

/** Plain JSON form, for /snapshot and logs. */
export function snapshotToJSON(snapshot: Snapshot): {
  version: number;
  services: Record<string, readonly Endpoint[]>;
  policies: Record<string, ServicePolicy>;
  kindPolicies: Record<string, Record<string, unknown>>;
} {
  const kindPolicies = Object.fromEntries(Object.entries(snapshot.kindPolicies).map(([kind, byService]) => [kind, Object.fromEntries(byService as ReadonlyMap<string, unknown>)]));
  return { version: snapshot.version, services: Object.fromEntries(snapshot.services), policies: Object.fromEntries(snapshot.policies), kindPolicies };
}

/** Where the data plane gets snapshots from: a control-plane watch, a static file, or a test. */
export interface SnapshotSource {
  current(): Snapshot;
  /** Calls the listener on every new snapshot; returns the unsubscribe function. */
  subscribe(listener: (snapshot: Snapshot) => void): () => void;
}
