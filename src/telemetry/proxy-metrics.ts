// Telemetry: the sidecar's golden metrics (requests, latency, retries, errors, in-flight, endpoints), bound per upstream once.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { WeftErrorCode } from '../core/index.js';

export type ProxyDirection = 'outbound' | 'inbound';

/** Metric children of one (direction, service) pair, resolved once so the request path does no label lookups. */
export interface UpstreamMetrics {
  /** One finished request with the HTTP status the client got and its duration in seconds. */
  request(status: number, seconds: number): void;
  retry(reason: string): void;
  error(code: WeftErrorCode): void;
  endpoints(passing: number, critical: number): void;
}

export interface InFlightGauge {
  inc(): void;
  dec(): void;
}

export interface ProxyMetrics {
  upstream(direction: ProxyDirection, service: string): UpstreamMetrics;
  inFlight(direction: ProxyDirection): InFlightGauge;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Families {
  requests: Counter<'direction' | 'service' | 'code'>;
  duration: Histogram<'direction' | 'service'>;
  retries: Counter<'service' | 'reason'>;
  errors: Counter<'direction' | 'service' | 'code'>;
  inFlight: Gauge<'direction'>;
  endpoints: Gauge<'service' | 'health'>;
}

/** The same registry may serve the outbound and the inbound server: a family is registered once and then reused. */
function family<M>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

function families(registry: Registry): Families {
  const registers = [registry];
  return {
    requests: family(registry, 'weft_proxy_requests_total', () =>
      new Counter({ name: 'weft_proxy_requests_total', help: 'Requests handled by the sidecar, by HTTP status code sent to the client.', labelNames: ['direction', 'service', 'code'] as const, registers }),
    ),
    duration: family(registry, 'weft_proxy_request_duration_seconds', () =>
      new Histogram({ name: 'weft_proxy_request_duration_seconds', help: 'Time from request arrival to the end of the response.', labelNames: ['direction', 'service'] as const, buckets: LATENCY_BUCKETS, registers }),
    ),
    retries: family(registry, 'weft_proxy_retries_total', () =>
      new Counter({ name: 'weft_proxy_retries_total', help: 'Attempts sent again to another endpoint, by reason.', labelNames: ['service', 'reason'] as const, registers }),
    ),
    errors: family(registry, 'weft_proxy_errors_total', () =>
      new Counter({ name: 'weft_proxy_errors_total', help: 'Failed requests and aborted responses, by weft error code.', labelNames: ['direction', 'service', 'code'] as const, registers }),
    ),
    inFlight: family(registry, 'weft_proxy_in_flight', () =>
      new Gauge({ name: 'weft_proxy_in_flight', help: 'Requests being handled right now.', labelNames: ['direction'] as const, registers }),
    ),
    endpoints: family(registry, 'weft_proxy_endpoints', () =>
      new Gauge({ name: 'weft_proxy_endpoints', help: 'Endpoints of each upstream service in the current snapshot, by health.', labelNames: ['service', 'health'] as const, registers }),
    ),
  };
}

type CounterChild = ReturnType<Counter<string>['labels']>;

class BoundUpstream implements UpstreamMetrics {
  private readonly byStatus: (CounterChild | undefined)[] = [];
  private readonly byError = new Map<string, CounterChild>();
  private readonly byReason = new Map<string, CounterChild>();
  private readonly duration: ReturnType<Histogram<string>['labels']>;
  private readonly passing: ReturnType<Gauge<string>['labels']>;
  private readonly critical: ReturnType<Gauge<string>['labels']>;

  constructor(
    private readonly f: Families,
    private readonly direction: ProxyDirection,
    private readonly service: string,
  ) {
    this.duration = f.duration.labels(direction, service);
    this.passing = f.endpoints.labels(service, 'passing');
    this.critical = f.endpoints.labels(service, 'critical');
  }

  request(status: number, seconds: number): void {
    let child = this.byStatus[status];
    if (child === undefined) this.byStatus[status] = child = this.f.requests.labels(this.direction, this.service, String(status));
    child.inc();
    this.duration.observe(seconds);
  }

  retry(reason: string): void {
    let child = this.byReason.get(reason);
    if (child === undefined) this.byReason.set(reason, (child = this.f.retries.labels(this.service, reason)));
    child.inc();
  }

  error(code: WeftErrorCode): void {
    let child = this.byError.get(code);
    if (child === undefined) this.byError.set(code, (child = this.f.errors.labels(this.direction, this.service, code)));
    child.inc();
  }

  endpoints(passing: number, critical: number): void {
    this.passing.set(passing);
    this.critical.set(critical);
  }
}

export function createProxyMetrics(registry: Registry): ProxyMetrics {
  const f = families(registry);
  const bound = new Map<string, UpstreamMetrics>();
  const gauges = new Map<ProxyDirection, InFlightGauge>();
  return {
    upstream(direction, service) {
      const key = `${direction}\0${service}`;
      let metrics = bound.get(key);
      if (metrics === undefined) bound.set(key, (metrics = new BoundUpstream(f, direction, service)));
      return metrics;
    },
    inFlight(direction) {
      let gauge = gauges.get(direction);
      if (gauge === undefined) {
        const child = f.inFlight.labels(direction);
        gauge = { inc: () => child.inc(), dec: () => child.dec() };
        gauges.set(direction, gauge);
      }
      return gauge;
    },
  };
}
