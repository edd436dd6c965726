// Model: the immutable view of the mesh that the data plane reads; replaced whole on every change.
import { endpointFromInstance, endpointReflects, type Endpoint } from './endpoint.js';
import type { Instance } from './instance.js';
import type { ServicePolicy } from './policy.js';
import { EMPTY_KIND_POLICIES, type KindPolicyMaps } from './policy-kinds.js';

export interface Snapshot {
  /** Registry version this snapshot reflects. */
  readonly version: number;
  /**
   * Every known endpoint by service name, passing and critical alike, sorted by id. A service's array keeps its
   * identity from one snapshot to the next until one of its endpoints changes (see snapshotFromInstances).
   */
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

/**
 * Builds a snapshot; `policies` is held as given, so pass a map that is never mutated afterwards. Given the snapshot
 * it follows, the build is structurally shared: a service whose endpoints would come out the same keeps the very
 * same array (consumers compare with `===` and skip it), and a changed service's array keeps the Endpoint objects
 * of its unchanged instances.
 */
export function snapshotFromInstances(
  version: number,
  instances: Iterable<Instance>,
  policies: ReadonlyMap<string, ServicePolicy> = NO_POLICIES,
  kindPolicies: KindPolicyMaps = EMPTY_KIND_POLICIES,
  previous?: Snapshot,
): Snapshot {
  const grouped = new Map<string, Instance[]>();
  for (const instance of instances) {
    let list = grouped.get(instance.service);
    if (!list) grouped.set(instance.service, (list = []));
    list.push(instance);
  }
  const services = new Map<string, readonly Endpoint[]>();
  for (const [service, list] of grouped) {
    list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    services.set(service, sharedEndpoints(list, previous?.services.get(service)));
  }
  return { version, services, policies, kindPolicies };
}

const NO_ENDPOINTS: readonly Endpoint[] = [];

/**
 * The endpoints of instances sorted by id, reusing what `before` (sorted the same way) already holds: one merge walk,
 * no lookups. `before` itself when every instance found its endpoint there and nothing was added or removed.
 */
function sharedEndpoints(sorted: readonly Instance[], before: readonly Endpoint[] = NO_ENDPOINTS): readonly Endpoint[] {
  const out: Endpoint[] = [];
  let unchanged = sorted.length === before.length;
  let j = 0;
  for (const instance of sorted) {
    while (j < before.length && before[j]!.id < instance.id) j++;
    const old = before[j];
    if (old !== undefined && endpointReflects(old, instance)) {
      out.push(old);
      j++; // used: a duplicate id (a static list may hold one) must not match it again
    } else {
      out.push(endpointFromInstance(instance));
      unchanged = false;
    }
  }
  // Each instance matched a distinct endpoint in the same order and the lengths agree: the arrays are equal.
  return unchanged ? before : out;
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
