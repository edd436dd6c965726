// Registry: Prometheus metrics of the registry model, registered on the runtime's registry.
import { Counter, Gauge, type Registry as MetricsRegistry } from 'prom-client';
import type { Instance } from '../model/index.js';

const NAMES = [
  'weft_registry_instances',
  'weft_registry_version',
  'weft_registry_registrations_total',
  'weft_registry_deregistrations_total',
  'weft_registry_expirations_total',
] as const;

export class RegistryMetrics {
  readonly registrations: Counter;
  readonly deregistrations: Counter;
  readonly expirations: Counter;
  private readonly owned: Array<Gauge | Counter>;

  constructor(
    private readonly metrics: MetricsRegistry,
    instances: () => Iterable<Instance>,
    version: () => number,
  ) {
    // A registry reopened on the same runtime (a restart in tests) takes the names over.
    for (const name of NAMES) metrics.removeSingleMetric(name);
    const byService = new Gauge({
      name: 'weft_registry_instances',
      help: 'Registered instances by service and health.',
      labelNames: ['service', 'health'],
      registers: [metrics],
      collect() {
        this.reset();
        for (const instance of instances()) this.inc({ service: instance.service, health: instance.health });
      },
    });
    const versionGauge = new Gauge({
      name: 'weft_registry_version',
      help: 'Registry version (store revision of the last applied change).',
      registers: [metrics],
      collect() {
        this.set(version());
      },
    });
    this.registrations = new Counter({ name: 'weft_registry_registrations_total', help: 'Successful registrations (new and renewed).', registers: [metrics] });
    this.deregistrations = new Counter({ name: 'weft_registry_deregistrations_total', help: 'Explicit deregistrations.', registers: [metrics] });
    this.expirations = new Counter({ name: 'weft_registry_expirations_total', help: 'Instances removed after their TTL lapsed.', registers: [metrics] });
    this.owned = [byService, versionGauge, this.registrations, this.deregistrations, this.expirations];
  }

  unregister(): void {
    NAMES.forEach((name, i) => {
      if (this.metrics.getSingleMetric(name) === this.owned[i]) this.metrics.removeSingleMetric(name);
    });
  }
}
