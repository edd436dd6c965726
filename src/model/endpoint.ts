// Model: an endpoint is an instance as the data plane sees it.
import type { Health, Instance } from './instance.js';
import { formatHostPort, isValidHost, isValidPort, printable } from './net-values.js';
import type { Protocol } from './protocol.js';

export interface Endpoint {
  readonly id: string;
  readonly service: string;
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  /** What the endpoint's port speaks, so the data plane picks the transport. */
  readonly protocol: Protocol;
  readonly meta: Readonly<Record<string, string>>;
  readonly health: Health;
  /** "host:port", precomputed once per endpoint for pools and logs. */
  readonly address: string;
  /** Why no connection can be opened to this address (stored by an older or foreign registry); absent for a good one. */
  readonly undialable?: string | undefined;
}

/** Hosts already judged: a changed instance (a health flip, a new weight) is rebuilt with the host it had, and the same few hosts come back each time. */
const judged = new Map<string, boolean>();

function dialableHost(host: string): boolean {
  let ok = judged.get(host);
  if (ok === undefined) {
    ok = isValidHost(host);
    if (judged.size >= 4096) judged.clear();
    judged.set(host, ok);
  }
  return ok;
}

export function endpointFromInstance(instance: Instance): Endpoint {
  return {
    id: instance.id,
    service: instance.service,
    host: instance.host,
    port: instance.port,
    weight: instance.weight,
    protocol: instance.protocol,
    meta: instance.meta,
    health: instance.health,
    address: formatHostPort(instance.host, instance.port),
    undialable: isValidPort(instance.port) && dialableHost(instance.host) ? undefined : `"${printable(formatHostPort(instance.host, instance.port))}" is not a dialable address`,
  };
}

/**
 * Whether `endpoint` is what endpointFromInstance(instance) would build, so a snapshot can keep the object (and its
 * service's array) instead of a copy. Compares every field the endpoint takes from the instance; tags, ttlMs and
 * healthReason are not the data plane's and do not count.
 */
export function endpointReflects(endpoint: Endpoint, instance: Instance): boolean {
  return (
    endpoint.id === instance.id &&
    endpoint.service === instance.service &&
    endpoint.host === instance.host &&
    endpoint.port === instance.port &&
    endpoint.weight === instance.weight &&
    endpoint.protocol === instance.protocol &&
    endpoint.health === instance.health &&
    sameMeta(endpoint.meta, instance.meta)
  );
}

function sameMeta(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  let count = 0;
  for (const key in a) {
    if (!Object.hasOwn(b, key) || a[key] !== b[key]) return false;
    count++;
  }
  for (const _key in b) count--;
  return count === 0;
}
