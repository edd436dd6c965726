// Model: an endpoint is an instance as the data plane sees it.
import type { Health, Instance } from './instance.js';

export interface Endpoint {
  readonly id: string;
  readonly service: string;
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  readonly meta: Readonly<Record<string, string>>;
  readonly health: Health;
  /** "host:port", precomputed once per endpoint for pools and logs. */
  readonly address: string;
}

export function endpointFromInstance(instance: Instance): Endpoint {
  return {
    id: instance.id,
    service: instance.service,
    host: instance.host,
    port: instance.port,
    weight: instance.weight,
    meta: instance.meta,
    health: instance.health,
    address: instance.host.includes(':') ? `[${instance.host}]:${instance.port}` : `${instance.host}:${instance.port}`,
  };
}
