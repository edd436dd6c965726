// Telemetry: histograms counted in plain numbers on the request path and handed to prom-client only when scraped.
import { Histogram, type MetricType, type Registry } from 'prom-client';

/**
 * Counts between bucket bounds (not cumulative), the last one past every bound; cumulated when scraped. Observing is
 * a few comparisons and additions: a prom-client labelled child hashes its labels on every call instead.
 */
export class BucketCounts {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** One label set of a precounted histogram and its counts. */
export interface PrecountedSeries<L extends string> {
  readonly labels: Readonly<Record<L, string>>;
  readonly buckets: BucketCounts;
}

type SeriesValue = { labels: Partial<Record<string, string>>; value: number; metricName?: string };

/** A prom-client Histogram whose values come from the series' own bucket counts when scraped. */
export class PrecountedHistogram<L extends string> extends Histogram<L> {
  constructor(
    private readonly metricName: string,
    private readonly metricHelp: string,
    registry: Registry,
    labelNames: readonly L[],
    private readonly bounds: readonly number[],
    private readonly series: () => Iterable<PrecountedSeries<L>>,
  ) {
    super({ name: metricName, help: metricHelp, labelNames, buckets: [...bounds], registers: [registry] });
  }

  override async get(): Promise<Awaited<ReturnType<Histogram<L>['get']>>> {
    return this.snapshot();
  }

  /** What prom-client's registry asks a histogram for when it writes the text format. */
  async getForPromString(): Promise<Awaited<ReturnType<Histogram<L>['get']>>> {
    return this.snapshot();
  }

  private snapshot(): Awaited<ReturnType<Histogram<L>['get']>> {
    const name = this.metricName;
    const bounds = this.bounds;
    const values: SeriesValue[] = [];
    for (const { labels, buckets } of this.series()) {
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += buckets.counts[i]!;
        values.push({ labels: { ...labels, le: String(bounds[i]) }, value: cumulative, metricName: `${name}_bucket` });
      }
      values.push({ labels: { ...labels, le: '+Inf' }, value: buckets.count, metricName: `${name}_bucket` });
      values.push({ labels, value: buckets.sum, metricName: `${name}_sum` });
      values.push({ labels, value: buckets.count, metricName: `${name}_count` });
    }
    // prom-client's typings declare MetricType as a numeric enum; at run time the type is the text-format word.
    const type = 'histogram' as unknown as MetricType;
    return { name, help: this.metricHelp, type, aggregator: 'sum', collect: () => undefined, values } as Awaited<ReturnType<Histogram<L>['get']>>;
  }
}
