// Telemetry: the sidecar's golden metrics (requests, latency, retries, errors, in-flight, endpoints), bound per source and destination once.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { WeftErrorCode } from '../core/index.js';
import { classify } from '../model/index.js';
import { BucketCounts, PrecountedHistogram, type PrecountedSeries } from './precounted-histogram.js';

export type ProxyDirection = 'outbound' | 'inbound';

// Defined in the model because the control plane's stats judge requests the same way.
export { CLIENT_CLOSED_STATUS, classify, UNKNOWN_SERVICE, type Classification } from '../model/index.js';

/**
 * Metric children of one (direction, source, destination) triple, resolved once so the request path does no label
 * lookups. Retries and endpoints are about the destination service alone and are labelled by it as `service`.
 */
export interface UpstreamMetrics {
  /**
   * One finished request with the HTTP status the client got and its duration in seconds; `outcome` is the status it
   * is classified by when that differs (a gRPC call answered 200 whose grpc-status stands for a 5xx).
   */
  request(status: number, seconds: number, outcome?: number): void;
  /** One finished gRPC call: its method (`/package.Service/Method`) and grpc-status. */
  grpc(method: string, code: number): void;
  retry(reason: string): void;
  error(code: WeftErrorCode): void;
  endpoints(passing: number, critical: number): void;
}

/** The decisions of one upstream service's policy (budget, ejection, breaker, faults, active checks), bound once per service. */
export interface PolicyMetrics {
  retryBudgetExhausted(): void;
  outlierEjected(): void;
  endpointsEjected(count: number): void;
  /** 0 closed, 1 open, 2 half-open. */
  circuitState(value: number): void;
  circuitRejected(code: WeftErrorCode): void;
  fault(kind: 'delay' | 'abort'): void;
  endpointHealth(counts: Readonly<Record<'unknown' | 'healthy' | 'unhealthy', number>>): void;
}

export interface InFlightGauge {
  inc(): void;
  dec(): void;
}

export interface ProxyMetrics {
  /** Source and destination are service names, or UNKNOWN_SERVICE (never ''). */
  upstream(direction: ProxyDirection, source: string, destination: string): UpstreamMetrics;
  inFlight(direction: ProxyDirection): InFlightGauge;
  policy(service: string): PolicyMetrics;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Families {
  requests: Counter<'direction' | 'source' | 'destination' | 'code' | 'classification'>;
  /** The request-duration series of the registry, counted here and handed over when scraped. */
  duration: Set<PrecountedSeries<DurationLabel>>;
  retries: Counter<'service' | 'reason'>;
  errors: Counter<'direction' | 'source' | 'destination' | 'code'>;
  inFlight: Gauge<'direction'>;
  endpoints: Gauge<'service' | 'health'>;
  budgetExhausted: Counter<'service'>;
  ejections: Counter<'service'>;
  ejected: Gauge<'service'>;
  circuitState: Gauge<'service'>;
  circuitRejections: Counter<'service' | 'code'>;
  faults: Counter<'service' | 'kind'>;
  endpointHealth: Gauge<'service' | 'state'>;
  grpc: Counter<'direction' | 'source' | 'destination' | 'method' | 'grpc_status'>;
}

/** Distinct gRPC methods counted per peer before the rest go to OTHER_METHOD: method names come from clients. */
const MAX_GRPC_METHODS = 64;
const OTHER_METHOD = '_other';
/** `/package.Service/Method`, as gRPC paths are. */
const GRPC_METHOD_PATH = /^\/[A-Za-z0-9_.]{1,128}\/[A-Za-z0-9_]{1,128}$/;

type DurationLabel = 'direction' | 'source' | 'destination';
const DURATION_LABELS: readonly DurationLabel[] = ['direction', 'source', 'destination'];
const durationStores = new WeakMap<Registry, Set<PrecountedSeries<DurationLabel>>>();

/** The duration family of a registry, registered with its first server; later servers add their series to it. */
function durationSeries(registry: Registry): Set<PrecountedSeries<DurationLabel>> {
  let store = durationStores.get(registry);
  if (store === undefined) {
    const series = (store = new Set());
    durationStores.set(registry, series);
    new PrecountedHistogram('weft_proxy_request_duration_seconds', 'Time from request arrival to the end of the response.', registry, DURATION_LABELS, LATENCY_BUCKETS, () => series);
  }
  return store;
}

/** The same registry may serve the outbound and the inbound server: a family is registered once and then reused. */
function family<M>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

/**
 * Counts kept in plain numbers on the request path and handed to prom-client when the registry is
 * scraped (its `collect` hook): a labelled child still hashes its labels on every call.
 */
const kFlushers = Symbol('weft.flushers');
interface Flushed {
  [kFlushers]?: Set<() => void>;
}

function flushers(metric: object): Set<() => void> {
  return ((metric as Flushed)[kFlushers] ??= new Set());
}

function collectFlushed(this: object): void {
  for (const flush of flushers(this)) flush();
}

/** Every server's in-flight count on a registry; servers of one direction share its series, which is their sum. */
const kInFlight = Symbol('weft.inFlight');
interface Counted {
  [kInFlight]?: Set<InFlightCount>;
}

function inFlightCounts(metric: object): Set<InFlightCount> {
  return ((metric as Counted)[kInFlight] ??= new Set());
}

function collectInFlight(this: Gauge<'direction'>): void {
  this.reset();
  for (const counted of inFlightCounts(this)) this.inc({ direction: counted.direction }, counted.value);
}

function families(registry: Registry): Families {
  const registers = [registry];
  return {
    requests: family(registry, 'weft_proxy_requests_total', () =>
      new Counter({ name: 'weft_proxy_requests_total', help: 'Requests handled by the sidecar, by HTTP status code sent to the client (499: the client left, 0: broken response) and its classification.', labelNames: ['direction', 'source', 'destination', 'code', 'classification'] as const, registers, collect: collectFlushed }),
    ),
    duration: durationSeries(registry),
    retries: family(registry, 'weft_proxy_retries_total', () =>
      new Counter({ name: 'weft_proxy_retries_total', help: 'Attempts sent again to another endpoint, by reason.', labelNames: ['service', 'reason'] as const, registers }),
    ),
    errors: family(registry, 'weft_proxy_errors_total', () =>
      new Counter({ name: 'weft_proxy_errors_total', help: 'Failed requests and aborted responses, by weft error code.', labelNames: ['direction', 'source', 'destination', 'code'] as const, registers }),
    ),
    inFlight: family(registry, 'weft_proxy_in_flight', () =>
      new Gauge({ name: 'weft_proxy_in_flight', help: 'Requests being handled right now.', labelNames: ['direction'] as const, registers, collect: collectInFlight }),
    ),
    endpoints: family(registry, 'weft_proxy_endpoints', () =>
      new Gauge({ name: 'weft_proxy_endpoints', help: 'Endpoints of each upstream service in the current snapshot, by health.', labelNames: ['service', 'health'] as const, registers }),
    ),
    budgetExhausted: family(registry, 'weft_proxy_retry_budget_exhausted_total', () =>
      new Counter({ name: 'weft_proxy_retry_budget_exhausted_total', help: 'Retries the retry budget refused.', labelNames: ['service'] as const, registers }),
    ),
    ejections: family(registry, 'weft_proxy_outlier_ejections_total', () =>
      new Counter({ name: 'weft_proxy_outlier_ejections_total', help: 'Endpoints ejected by outlier detection.', labelNames: ['service'] as const, registers }),
    ),
    ejected: family(registry, 'weft_proxy_endpoints_ejected', () =>
      new Gauge({ name: 'weft_proxy_endpoints_ejected', help: 'Endpoints of each upstream service ejected right now.', labelNames: ['service'] as const, registers }),
    ),
    circuitState: family(registry, 'weft_proxy_circuit_state', () =>
      new Gauge({ name: 'weft_proxy_circuit_state', help: 'Consecutive-failure breaker of each upstream service: 0 closed, 1 open, 2 half-open.', labelNames: ['service'] as const, registers }),
    ),
    circuitRejections: family(registry, 'weft_proxy_circuit_rejections_total', () =>
      new Counter({ name: 'weft_proxy_circuit_rejections_total', help: 'Requests refused by a breaker, by code (CIRCUIT_OPEN or OVERFLOW).', labelNames: ['service', 'code'] as const, registers }),
    ),
    faults: family(registry, 'weft_proxy_faults_total', () =>
      new Counter({ name: 'weft_proxy_faults_total', help: 'Faults injected by route policies, by kind (delay or abort).', labelNames: ['service', 'kind'] as const, registers }),
    ),
    grpc: family(registry, 'weft_proxy_grpc_requests_total', () =>
      new Counter({ name: 'weft_proxy_grpc_requests_total', help: 'gRPC calls handled by the sidecar, by method (the first 64 per peer; later ones as _other) and grpc-status.', labelNames: ['direction', 'source', 'destination', 'method', 'grpc_status'] as const, registers }),
    ),
    endpointHealth: family(registry, 'weft_proxy_endpoint_health', () =>
      new Gauge({ name: 'weft_proxy_endpoint_health', help: 'Endpoints of each upstream service by the state of its active health check.', labelNames: ['service', 'state'] as const, registers }),
    ),
  };
}

type CounterChild = ReturnType<Counter<string>['labels']>;

class BoundUpstream implements UpstreamMetrics {
  private readonly byStatus: (CounterChild | undefined)[] = [];
  /** Statuses counted as failures by their outcome (a gRPC 200 carrying UNAVAILABLE, …). */
  private readonly failedByStatus: (CounterChild | undefined)[] = [];
  /** Per gRPC method label (at most MAX_GRPC_METHODS and OTHER_METHOD), its children by grpc-status. */
  private readonly byMethod = new Map<string, (CounterChild | undefined)[]>();
  /** Requests per status since the last scrape; statuses are three digits (0 for a broken response). */
  private readonly pending = new Uint32Array(1000);
  private readonly touched: number[] = [];
  private readonly byError = new Map<string, CounterChild>();
  private readonly byReason = new Map<string, CounterChild>();
  private readonly duration = new BucketCounts(LATENCY_BUCKETS);
  private readonly passing: ReturnType<Gauge<string>['labels']>;
  private readonly critical: ReturnType<Gauge<string>['labels']>;

  constructor(
    private readonly f: Families,
    private readonly direction: ProxyDirection,
    private readonly source: string,
    private readonly destination: string,
  ) {
    f.duration.add({ labels: { direction, source, destination }, buckets: this.duration });
    flushers(f.requests).add(() => this.flush());
    this.passing = f.endpoints.labels(destination, 'passing');
    this.critical = f.endpoints.labels(destination, 'critical');
  }

  request(status: number, seconds: number, outcome = status): void {
    if (outcome !== status && classify(outcome) === 'failure' && classify(status) === 'success') {
      let child = this.failedByStatus[status];
      if (child === undefined) this.failedByStatus[status] = child = this.f.requests.labels(this.direction, this.source, this.destination, String(status), 'failure');
      child.inc();
      this.duration.observe(seconds);
      return;
    }
    const pending = this.pending;
    if (status >= 0 && status < pending.length) {
      const before = pending[status]!;
      pending[status] = before + 1;
      if (before === 0) this.touched.push(status);
    } else {
      this.child(status).inc();
    }
    this.duration.observe(seconds);
  }

  /** Hands the counts taken since the last scrape to prom-client. */
  flush(): void {
    const touched = this.touched;
    for (let i = 0; i < touched.length; i++) {
      const status = touched[i]!;
      this.child(status).inc(this.pending[status]!);
      this.pending[status] = 0;
    }
    touched.length = 0;
  }

  private child(status: number): CounterChild {
    let child = this.byStatus[status];
    if (child === undefined) this.byStatus[status] = child = this.f.requests.labels(this.direction, this.source, this.destination, String(status), classify(status));
    return child;
  }

  grpc(method: string, code: number): void {
    const label = this.byMethod.has(method) || (this.byMethod.size < MAX_GRPC_METHODS && GRPC_METHOD_PATH.test(method)) ? method : OTHER_METHOD;
    let byCode = this.byMethod.get(label);
    if (byCode === undefined) this.byMethod.set(label, (byCode = []));
    const index = code >= 0 && code <= 16 ? code : 17;
    let child = byCode[index];
    if (child === undefined) byCode[index] = child = this.f.grpc.labels(this.direction, this.source, this.destination, label, index === 17 ? 'unknown' : String(code));
    child.inc();
  }

  retry(reason: string): void {
    let child = this.byReason.get(reason);
    if (child === undefined) this.byReason.set(reason, (child = this.f.retries.labels(this.destination, reason)));
    child.inc();
  }

  error(code: WeftErrorCode): void {
    let child = this.byError.get(code);
    if (child === undefined) this.byError.set(code, (child = this.f.errors.labels(this.direction, this.source, this.destination, code)));
    child.inc();
  }

  endpoints(passing: number, critical: number): void {
    this.passing.set(passing);
    this.critical.set(critical);
  }
}

class BoundPolicy implements PolicyMetrics {
  constructor(
    private readonly f: Families,
    private readonly service: string,
  ) {}

  retryBudgetExhausted(): void {
    this.f.budgetExhausted.labels(this.service).inc();
  }

  outlierEjected(): void {
    this.f.ejections.labels(this.service).inc();
  }

  endpointsEjected(count: number): void {
    this.f.ejected.labels(this.service).set(count);
  }

  circuitState(value: number): void {
    this.f.circuitState.labels(this.service).set(value);
  }

  circuitRejected(code: WeftErrorCode): void {
    this.f.circuitRejections.labels(this.service, code).inc();
  }

  fault(kind: 'delay' | 'abort'): void {
    this.f.faults.labels(this.service, kind).inc();
  }

  endpointHealth(counts: Readonly<Record<'unknown' | 'healthy' | 'unhealthy', number>>): void {
    for (const state of ['unknown', 'healthy', 'unhealthy'] as const) this.f.endpointHealth.labels(this.service, state).set(counts[state]);
  }
}

class InFlightCount implements InFlightGauge {
  value = 0;
  constructor(readonly direction: ProxyDirection) {}
  inc(): void {
    this.value++;
  }
  dec(): void {
    this.value--;
  }
}

export function createProxyMetrics(registry: Registry): ProxyMetrics {
  const f = families(registry);
  const bound = new Map<string, UpstreamMetrics>();
  const gauges = new Map<ProxyDirection, InFlightGauge>();
  const policies = new Map<string, PolicyMetrics>();
  return {
    policy(service) {
      let metrics = policies.get(service);
      if (metrics === undefined) policies.set(service, (metrics = new BoundPolicy(f, service)));
      return metrics;
    },
    upstream(direction, source, destination) {
      const key = `${direction}\0${source}\0${destination}`;
      let metrics = bound.get(key);
      if (metrics === undefined) bound.set(key, (metrics = new BoundUpstream(f, direction, source, destination)));
      return metrics;
    },
    inFlight(direction) {
      let gauge = gauges.get(direction);
      if (gauge === undefined) {
        const counted = new InFlightCount(direction);
        inFlightCounts(f.inFlight).add(counted);
        gauges.set(direction, (gauge = counted));
      }
      return gauge;
    },
  };
}
