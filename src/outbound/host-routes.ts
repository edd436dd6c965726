// Outbound: maps a request's authority to the stack of its service, created on first use, cached and bounded.
import type { Snapshot, SnapshotSource } from '../model/index.js';

const MESH_SUFFIX = '.weft';
const MAX_CACHED_HOSTS = 1024;

/** `greeter`, `greeter.weft`, `Greeter:8080`, `greeter.weft:8080` → `greeter`; '' when nothing is left. */
export function serviceOfHost(host: string): string {
  let end = host.length;
  const colon = host.lastIndexOf(':');
  if (colon >= 0 && host.indexOf(']') < colon) end = colon;
  let name = host.slice(0, end).toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.endsWith(MESH_SUFFIX)) name = name.slice(0, -MESH_SUFFIX.length);
  return name;
}

export interface Routable {
  refresh(snapshot: Snapshot): void;
  destroy(): void;
}

/**
 * Upstreams by service, created on first use for services the snapshot knows, and kept fresh on every
 * snapshot. Host headers are cached up to a bound, so unknown or odd hosts cannot grow memory.
 */
export class UpstreamRoutes<U extends Routable> {
  private readonly byService = new Map<string, U>();
  private readonly byHost = new Map<string, U>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly snapshots: SnapshotSource,
    private readonly create: (service: string) => U,
  ) {
    this.unsubscribe = snapshots.subscribe((snapshot) => {
      for (const upstream of this.byService.values()) upstream.refresh(snapshot);
    });
  }

  /** The upstream for a Host header, or the service name it asked for when no such service is known. */
  lookup(host: string): U | string {
    const cached = this.byHost.get(host);
    if (cached !== undefined) return cached;
    const service = serviceOfHost(host);
    let upstream = this.byService.get(service);
    if (upstream === undefined) {
      const snapshot = this.snapshots.current();
      if (!snapshot.services.has(service)) return service;
      upstream = this.create(service);
      upstream.refresh(snapshot);
      this.byService.set(service, upstream);
    }
    if (this.byHost.size >= MAX_CACHED_HOSTS) this.byHost.clear();
    this.byHost.set(host, upstream);
    return upstream;
  }

  upstreams(): IterableIterator<U> {
    return this.byService.values();
  }

  close(): void {
    this.unsubscribe();
    for (const upstream of this.byService.values()) upstream.destroy();
    this.byService.clear();
    this.byHost.clear();
  }
}
