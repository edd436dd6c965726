// Control plane: request metrics of its HTTP server, by route pattern (never by raw path, to bound cardinality), and its open watchers.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS']);

/** `watch`: NDJSON watch streams (sidecars); `consul_blocking`: Consul blocking queries waiting for a change. */
export type WatcherKind = 'watch' | 'consul_blocking';

export class ControlMetrics {
  private readonly requests: Counter<'method' | 'route' | 'code'>;
  private readonly duration: Histogram<'method' | 'route'>;
  private readonly watcherCounts = new Map<WatcherKind, () => number>();
  private readonly watchersGauge: Gauge<'kind'>;

  constructor(private readonly registry: Registry) {
    for (const name of ControlMetrics.names) registry.removeSingleMetric(name);
    this.requests = new Counter({
      name: 'weft_control_http_requests_total',
      help: 'Control-plane HTTP requests by method, route pattern and status code.',
      labelNames: ['method', 'route', 'code'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'weft_control_http_request_duration_seconds',
      help: 'Control-plane HTTP request latency (for watch streams: the stream lifetime).',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    });
    const counts = this.watcherCounts;
    this.watchersGauge = new Gauge({
      name: 'weft_control_watchers',
      help: 'Clients waiting for registry changes right now, by kind: watch (NDJSON streams) or consul_blocking (blocking queries).',
      labelNames: ['kind'],
      registers: [registry],
      // Read when scraped: the servers keep the counts anyway, so nothing is updated per stream.
      collect() {
        for (const [kind, count] of counts) this.set({ kind }, count());
      },
    });
  }

  static readonly names = ['weft_control_http_requests_total', 'weft_control_http_request_duration_seconds', 'weft_control_watchers'];

  /** Reports `count()` as the watchers of `kind` at every scrape. */
  watchers(kind: WatcherKind, count: () => number): void {
    this.watcherCounts.set(kind, count);
  }

  observe(method: string | undefined, route: string, code: number, seconds: number): void {
    const m = method !== undefined && KNOWN_METHODS.has(method) ? method : 'other';
    this.requests.inc({ method: m, route, code: String(code) });
    this.duration.observe({ method: m, route }, seconds);
  }

  unregister(): void {
    const mine = [this.requests, this.duration, this.watchersGauge];
    ControlMetrics.names.forEach((name, i) => {
      if (this.registry.getSingleMetric(name) === mine[i]) this.registry.removeSingleMetric(name);
    });
  }
}
