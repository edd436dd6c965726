// Config: the local ports of raw TCP upstreams (`--upstream NAME:LOCALPORT`, `upstreams.NAME.port`) — merged per name, each checked against the others and the sidecar's own ports.
import { ConfigError } from '../core/index.js';
import { formatHostPort, hostsOverlap } from '../model/index.js';
import type { ListenAddress } from './listen-address.js';

/** Where every upstream port listens: the app's own machine, which is the only one meant to dial it. */
export const TCP_UPSTREAM_HOST = '127.0.0.1';

/** Two upstreams given one local port, or an upstream given a port the sidecar or its app listens on: a usage error. */
export class UpstreamPortConflictError extends ConfigError {
  constructor(source: string, path: string, expected: string) {
    super(source, path, expected);
    this.name = 'UpstreamPortConflictError';
  }
}

/** A port bound beside the upstreams: what listens there ("the sidecar's outbound listener") and who set it ("--outbound", "the default"). */
export interface OccupiedPort {
  readonly what: string;
  readonly setBy: string;
  readonly address: ListenAddress;
}

interface Entry {
  readonly port: number;
  /** The ConfigError's source and path: the flag, or the file and the key inside it. */
  readonly source: string;
  readonly path: string;
}

/**
 * Name → local port, from the file's `upstreams.NAME.port` and the flags' `--upstream NAME:PORT`, a flag replacing
 * the file's port of the same name. Throws UpstreamPortConflictError, naming the flag or the file and key, when a
 * port is given to two upstreams or is one of `occupied` (listeners on port 0 take a port the kernel picks, which
 * a bound upstream port cannot be).
 */
export function resolveTcpUpstreams(
  file: Readonly<Record<string, { readonly port?: number | undefined }>> | undefined,
  flags: Readonly<Record<string, number>> | undefined,
  occupied: readonly OccupiedPort[],
  fileName: string,
): Readonly<Record<string, number>> {
  const entries = new Map<string, Entry>();
  for (const [name, upstream] of Object.entries(file ?? {})) {
    if (upstream.port !== undefined) entries.set(name, { port: upstream.port, source: fileName, path: `upstreams.${name}.port` });
  }
  for (const [name, port] of Object.entries(flags ?? {})) entries.set(name, { port, source: `--upstream ${name}:${port}`, path: '' });

  const byPort = new Map<number, string>();
  const ports: Record<string, number> = {};
  for (const [name, entry] of entries) {
    const own = occupied.find((other) => other.address.port === entry.port && hostsOverlap(other.address.host, TCP_UPSTREAM_HOST));
    if (own !== undefined) {
      throw new UpstreamPortConflictError(
        entry.source,
        entry.path,
        `expected a local port for ${name} that neither the sidecar nor its app listens on: ${entry.port} is ${own.what} ${formatHostPort(own.address.host, own.address.port)} (from ${own.setBy})`,
      );
    }
    const taken = byPort.get(entry.port);
    if (taken !== undefined) {
      const first = entries.get(taken)!;
      throw new UpstreamPortConflictError(
        entry.source,
        entry.path,
        `expected a local port of its own for each upstream: ${entry.port} is already the port of the upstream ${taken} (${first.path ? `${first.source} at ${first.path}` : first.source})`,
      );
    }
    byPort.set(entry.port, name);
    ports[name] = entry.port;
  }
  return ports;
}
