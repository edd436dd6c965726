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

/** Hosts already judged: every snapshot rebuilds every endpoint, and the same few hosts come back each time. */
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
