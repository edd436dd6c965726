// Resolve: the watch client's metrics, registered once per runtime registry and shared by every watch in it.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface WatchMetrics {
  readonly connected: Gauge;
  readonly snapshotVersion: Gauge;
  readonly reconnects: Counter;
  readonly events: Counter<'type'>;
  readonly replica: Gauge;
}

export function watchMetrics(registry: Registry): WatchMetrics {
  return {
    connected: gauge(registry, 'weft_resolve_connected', '1 while the control-plane watch stream is connected, else 0'),
    snapshotVersion: gauge(registry, 'weft_resolve_snapshot_version', 'Registry version of the snapshot the data plane is serving'),
    reconnects: counter(registry, 'weft_resolve_reconnects_total', 'Reconnections of the control-plane watch stream', []),
    events: counter(registry, 'weft_resolve_events_total', 'Watch events received from the control plane, by type', ['type']),
    replica: gauge(registry, 'weft_resolve_control_replica', 'Position (from 0) in the control-plane URL list of the replica the watch stream follows'),
  };
}

function gauge(registry: Registry, name: string, help: string): Gauge {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Gauge) return existing;
  return new Gauge({ name, help, registers: [registry] });
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing as Counter<L>;
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}
