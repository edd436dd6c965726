// TCP: what the sidecar's TCP ports count beside the connection and byte series of telemetry/tcp-metrics.ts — failed connects, refused connections, idle timeouts.
import { Counter, type Registry } from 'prom-client';
import type { ProxyDirection } from '../telemetry/index.js';

/**
 * Why a port closed a connection it accepted without carrying it. Outbound: `connection_limit`, `no_endpoints`
 * (the service has no passing tcp endpoint), `connect_failed` (every endpoint tried failed). Inbound:
 * `connection_limit`, `plaintext` (to a strict port), `handshake` (TLS refused or too slow), `forbidden` (the
 * AuthorizationPolicy), `unauthenticated` (a JwtPolicy, which no byte stream can satisfy), `app_unavailable`.
 */
export type TcpRefusal = 'connection_limit' | 'no_endpoints' | 'connect_failed' | 'plaintext' | 'handshake' | 'forbidden' | 'unauthenticated' | 'app_unavailable';

export const TCP_REFUSALS: Readonly<Record<ProxyDirection, readonly TcpRefusal[]>> = {
  outbound: ['connection_limit', 'no_endpoints', 'connect_failed'],
  inbound: ['connection_limit', 'plaintext', 'handshake', 'forbidden', 'unauthenticated', 'app_unavailable'],
};

export const TCP_METRIC_NAMES = {
  connectFailures: 'weft_proxy_tcp_connect_failures_total',
  refused: 'weft_proxy_tcp_connections_refused_total',
  idleTimeouts: 'weft_proxy_tcp_idle_timeouts_total',
} as const;

type Child = ReturnType<Counter<string>['labels']>;

/** The counts of one port: its direction and the service it carries (the upstream's outbound, its own inbound). */
export interface TcpPortMetrics {
  /** One connect to an endpoint (outbound) or to the app (inbound) that failed, timed out or was refused by TLS. */
  connectFailed(): void;
  refused(reason: TcpRefusal): void;
  idleTimedOut(): void;
}

interface Families {
  readonly connectFailures: Counter<'direction' | 'service'>;
  readonly refused: Counter<'direction' | 'service' | 'reason'>;
  readonly idleTimeouts: Counter<'direction' | 'service'>;
}

const families = new WeakMap<Registry, Families>();

/** One set of families per registry, however many ports (one per upstream, plus the inbound one) ask for it. */
function familiesOf(registry: Registry): Families {
  let found = families.get(registry);
  if (found !== undefined) return found;
  const registers = [registry];
  found = {
    connectFailures: new Counter({
      name: TCP_METRIC_NAMES.connectFailures,
      help: 'Connections the sidecar could not open for a TCP port: to an endpoint of the service (outbound, each endpoint tried counts) or to the app (inbound).',
      labelNames: ['direction', 'service'] as const,
      registers,
    }),
    refused: new Counter({
      name: TCP_METRIC_NAMES.refused,
      help: 'Connections a TCP port accepted and closed without carrying them, by reason (connection_limit, no_endpoints, connect_failed, plaintext, handshake, forbidden, unauthenticated, app_unavailable).',
      labelNames: ['direction', 'service', 'reason'] as const,
      registers,
    }),
    idleTimeouts: new Counter({
      name: TCP_METRIC_NAMES.idleTimeouts,
      help: 'TCP connections closed after their idle timeout passed with no byte in either direction.',
      labelNames: ['direction', 'service'] as const,
      registers,
    }),
  };
  families.set(registry, found);
  return found;
}

export function createTcpPortMetrics(registry: Registry, direction: ProxyDirection, service: string): TcpPortMetrics {
  const f = familiesOf(registry);
  const connectFailures = f.connectFailures.labels(direction, service);
  const idleTimeouts = f.idleTimeouts.labels(direction, service);
  const refused = new Map<TcpRefusal, Child>(TCP_REFUSALS[direction].map((reason) => [reason, f.refused.labels(direction, service, reason)]));
  // Every series exists from the start at 0, so that a rate over the first event is seen.
  connectFailures.inc(0);
  idleTimeouts.inc(0);
  for (const child of refused.values()) child.inc(0);
  return {
    connectFailed: () => connectFailures.inc(),
    refused: (reason) => {
      let child = refused.get(reason);
      if (child === undefined) refused.set(reason, (child = f.refused.labels(direction, service, reason)));
      child.inc();
    },
    idleTimedOut: () => idleTimeouts.inc(),
  };
}
