// Embedded store: its Prometheus metrics, registered on the runtime's registry (never the global one).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class StoreMetrics {
  readonly fsyncSeconds: Histogram;
  readonly batchRecords: Histogram;
  readonly logBytes: Gauge;
  readonly compactions: Counter;
  readonly failedBatches: Counter<'code'>;

  constructor(private readonly registry: Registry) {
    // A store reopened in the same process (a restart in tests) takes the names over.
    for (const name of StoreMetrics.names) registry.removeSingleMetric(name);
    this.fsyncSeconds = new Histogram({
      name: 'weft_store_fsync_duration_seconds',
      help: 'Time to write and fdatasync one group-commit batch of log records.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    });
    this.batchRecords = new Histogram({
      name: 'weft_store_commit_batch_records',
      help: 'Records made durable by one fsync (group commit batch size).',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    });
    this.logBytes = new Gauge({ name: 'weft_store_log_bytes', help: 'Current size of the append-only log file.', registers: [registry] });
    this.compactions = new Counter({ name: 'weft_store_compactions_total', help: 'Log compactions completed.', registers: [registry] });
    this.failedBatches = new Counter({
      name: 'weft_store_failed_batches_total',
      help: 'Group-commit batches that failed to become durable (every write in them refused), by error code.',
      labelNames: ['code'],
      registers: [registry],
    });
  }

  static readonly names = ['weft_store_fsync_duration_seconds', 'weft_store_commit_batch_records', 'weft_store_log_bytes', 'weft_store_compactions_total', 'weft_store_failed_batches_total'];

  unregister(): void {
    const mine = [this.fsyncSeconds, this.batchRecords, this.logBytes, this.compactions, this.failedBatches];
    StoreMetrics.names.forEach((name, i) => {
      if (this.registry.getSingleMetric(name) === mine[i]) this.registry.removeSingleMetric(name);
    });
  }
}
