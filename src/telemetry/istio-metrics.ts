// Telemetry: Istio's standard request metrics and labels (istio_requests_total, ..._duration_milliseconds, ..._request_bytes, ..._response_bytes), for Istio's dashboards.
import { Counter, type Registry } from 'prom-client';
import { BucketCounts, PrecountedHistogram } from './precounted-histogram.js';
import { UNKNOWN_SERVICE } from './proxy-metrics.js';

/** Envoy's default histogram buckets, which Istio keeps for all four families (milliseconds and bytes alike). */
export const ISTIO_BUCKETS: readonly number[] = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

/** Labels in the order Istio's stats filter emits them. */
const ISTIO_LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_canonical_service',
  'source_canonical_revision',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_cluster',
  'request_protocol',
  'response_flags',
  'connection_security_policy',
  'response_code',
  'grpc_response_status',
] as const;
type IstioLabel = (typeof ISTIO_LABELS)[number];
type IstioLabels = Record<IstioLabel, string>;
type PeerLabels = Omit<IstioLabels, 'response_flags' | 'response_code'>;

/** Envoy's response flags, by index; a request carries one. */
export const ISTIO_RESPONSE_FLAGS = ['-', 'UH', 'UF', 'UT', 'UR', 'UPE', 'UO', 'FI', 'NR', 'DC', 'DI'] as const;
export type IstioResponseFlag = (typeof ISTIO_RESPONSE_FLAGS)[number];
const FLAG: Readonly<Record<IstioResponseFlag, number>> = Object.fromEntries(ISTIO_RESPONSE_FLAGS.map((flag, i) => [flag, i])) as Record<IstioResponseFlag, number>;

/**
 * The Envoy flag for why weft answered a request itself or broke it off (a weft error code, '' for none), else a
 * client that went away (DC), else an injected delay (DI), else '-'. Codes without an Envoy counterpart give '-'.
 */
export function istioResponseFlag(code: string, clientGone: boolean, delayed: boolean): number {
  switch (code) {
    case 'NO_ENDPOINTS':
      return FLAG.UH;
    case 'CONNECT_FAILED':
    case 'APP_UNAVAILABLE':
      return FLAG.UF;
    case 'UPSTREAM_TIMEOUT':
    case 'DEADLINE_EXCEEDED':
      return FLAG.UT;
    case 'UPSTREAM_RESET':
      return FLAG.UR;
    case 'UPSTREAM_PROTOCOL_ERROR':
      return FLAG.UPE;
    case 'CIRCUIT_OPEN':
    case 'OVERFLOW':
      return FLAG.UO;
    case 'FAULT_INJECTED':
      return FLAG.FI;
    case 'MISSING_HOST':
    case 'AMBIGUOUS_HOST':
      return FLAG.NR;
  }
  if (clientGone) return FLAG.DC;
  return delayed ? FLAG.DI : FLAG['-'];
}

export interface IstioMetricsOptions {
  /** The service this sidecar belongs to ('' for none). */
  readonly service: string;
  /** This instance's version (instance meta `version`), '' when unknown. */
  readonly version: string;
  /** weft has one namespace; Istio's labels and service host names carry it. */
  readonly namespace: string;
}

/** Istio's series for one peer of this sidecar, bound once; the request path records plain numbers. */
export interface IstioPeerMetrics {
  /** `flag` from istioResponseFlag; bytes are the request body received and the response bytes written to the client. */
  /** `grpcStatus`: a gRPC call's grpc-status (its request_protocol is then grpc), -1 for other requests. */
  request(status: number, flag: number, milliseconds: number, requestBytes: number, responseBytes: number, grpcStatus?: number): void;
}

/** One destination service seen from the outbound side: its instances may report different versions. */
export interface IstioDestination {
  /** The series for an instance of `version` ('' unknown); one Map lookup. */
  version(version: string): IstioPeerMetrics;
}

export interface IstioMetrics {
  /** reporter="source": this sidecar calling `destination` (UNKNOWN_SERVICE when the Host named no service). */
  outbound(destination: string): IstioDestination;
  /** reporter="destination": `source` (a service name, or UNKNOWN_SERVICE / another placeholder) calling this sidecar. */
  inbound(source: string): IstioPeerMetrics;
}

/** Distinct versions bound per destination before the rest count as unknown. */
const MAX_VERSIONS = 32;

/** One label set: a peer with one response code and flag. */
class Series {
  requests = 0;
  readonly duration = new BucketCounts(ISTIO_BUCKETS);
  readonly requestBytes = new BucketCounts(ISTIO_BUCKETS);
  readonly responseBytes = new BucketCounts(ISTIO_BUCKETS);
  constructor(readonly labels: Readonly<IstioLabels>) {}
}

class Peer implements IstioPeerMetrics {
  /** By flag * 1000 + status: numbers, so the request path builds no key string. */
  private readonly series = new Map<number, Series>();

  constructor(
    private readonly labels: Readonly<PeerLabels>,
    private readonly store: Set<Series>,
  ) {}

  request(status: number, flag: number, milliseconds: number, requestBytes: number, responseBytes: number, grpcStatus = -1): void {
    const code = status >= 0 && status < 1000 ? status : 0;
    const grpc = grpcStatus >= 0 && grpcStatus <= 16 ? grpcStatus : -1;
    const key = (flag * 1000 + code) * 32 + grpc + 1;
    let series = this.series.get(key);
    if (series === undefined) {
      const protocol = grpc < 0 ? {} : { request_protocol: 'grpc', grpc_response_status: String(grpc) };
      series = new Series({ ...this.labels, ...protocol, response_code: String(code), response_flags: ISTIO_RESPONSE_FLAGS[flag] ?? '-' });
      this.series.set(key, series);
      this.store.add(series);
    }
    series.requests++;
    series.duration.observe(milliseconds);
    series.requestBytes.observe(requestBytes);
    series.responseBytes.observe(responseBytes);
  }
}

type SeriesValue = { labels: Partial<Record<IstioLabel | 'le', string>>; value: number; metricName?: string };

/** Counter whose values come from the series' own counts when scraped. */
class PrecountedCounter extends Counter<IstioLabel> {
  constructor(
    name: string,
    help: string,
    registry: Registry,
    private readonly store: Set<Series>,
  ) {
    super({ name, help, labelNames: ISTIO_LABELS, registers: [registry] });
  }

  override async get(): Promise<Awaited<ReturnType<Counter<IstioLabel>['get']>>> {
    const base = await super.get();
    const values: SeriesValue[] = [];
    for (const series of this.store) values.push({ labels: series.labels, value: series.requests });
    return { ...base, values };
  }
}

/** Every series on a registry: the outbound and inbound servers of one sidecar share the families. */
const stores = new WeakMap<Registry, Set<Series>>();

function seriesOf(registry: Registry): Set<Series> {
  let store = stores.get(registry);
  if (store === undefined) {
    store = new Set();
    stores.set(registry, store);
    new PrecountedCounter('istio_requests_total', 'Requests handled, with Istio standard labels.', registry, store);
    const histogram = (name: string, help: string, pick: (series: Series) => BucketCounts): void => {
      new PrecountedHistogram(name, help, registry, ISTIO_LABELS, ISTIO_BUCKETS, function* () {
        for (const series of store!) yield { labels: series.labels, buckets: pick(series) };
      });
    };
    histogram('istio_request_duration_milliseconds', 'Request duration in milliseconds, with Istio standard labels.', (s) => s.duration);
    histogram('istio_request_bytes', 'Request body bytes received, with Istio standard labels.', (s) => s.requestBytes);
    histogram('istio_response_bytes', 'Response bytes sent to the client, with Istio standard labels.', (s) => s.responseBytes);
  }
  return store;
}

interface Workload {
  workload: string;
  namespace: string;
  app: string;
  version: string;
  canonicalService: string;
  canonicalRevision: string;
}

/** A weft service as an Istio workload: one workload per service, named after it; unknown ones as Istio names them. */
function workloadOf(service: string, version: string, namespace: string): Workload {
  if (service === '' || service.startsWith('_')) {
    return { workload: 'unknown', namespace: 'unknown', app: 'unknown', version: 'unknown', canonicalService: 'unknown', canonicalRevision: 'latest' };
  }
  return { workload: service, namespace, app: service, version: version || 'unknown', canonicalService: service, canonicalRevision: version || 'latest' };
}

function peerLabels(reporter: 'source' | 'destination', source: Workload, destination: Workload): PeerLabels {
  const known = destination.workload !== 'unknown';
  return {
    reporter,
    source_workload: source.workload,
    source_workload_namespace: source.namespace,
    source_principal: 'unknown',
    source_app: source.app,
    source_version: source.version,
    source_canonical_service: source.canonicalService,
    source_canonical_revision: source.canonicalRevision,
    source_cluster: 'unknown',
    destination_workload: destination.workload,
    destination_workload_namespace: destination.namespace,
    destination_principal: 'unknown',
    destination_app: destination.app,
    destination_version: destination.version,
    destination_service: known ? `${destination.workload}.${destination.namespace}.svc.cluster.local` : 'unknown',
    destination_service_name: destination.canonicalService,
    destination_service_namespace: destination.namespace,
    destination_canonical_service: destination.canonicalService,
    destination_canonical_revision: destination.canonicalRevision,
    destination_cluster: 'unknown',
    request_protocol: 'http',
    // Plaintext: Istio reports "none" on the server side and "unknown" on the client side.
    connection_security_policy: reporter === 'destination' ? 'none' : 'unknown',
    grpc_response_status: '',
  };
}

export function createIstioMetrics(registry: Registry, options: IstioMetricsOptions): IstioMetrics {
  const store = seriesOf(registry);
  const local = workloadOf(options.service, options.version, options.namespace);
  const outbound = new Map<string, IstioDestination>();
  const inbound = new Map<string, IstioPeerMetrics>();
  return {
    outbound(destination) {
      let bound = outbound.get(destination);
      if (bound === undefined) {
        const versions = new Map<string, IstioPeerMetrics>();
        const unknown = new Peer(peerLabels('source', local, workloadOf(destination, '', options.namespace)), store);
        versions.set('', unknown);
        bound = {
          version(version) {
            let peer = versions.get(version);
            if (peer === undefined) {
              if (versions.size > MAX_VERSIONS) return unknown;
              peer = new Peer(peerLabels('source', local, workloadOf(destination, version, options.namespace)), store);
              versions.set(version, peer);
            }
            return peer;
          },
        };
        outbound.set(destination, bound);
      }
      return bound;
    },
    inbound(source) {
      // Placeholders (_unknown, _other) are all Istio's "unknown": one series set for them.
      const key = source.startsWith('_') ? UNKNOWN_SERVICE : source;
      let peer = inbound.get(key);
      if (peer === undefined) inbound.set(key, (peer = new Peer(peerLabels('destination', workloadOf(key, '', options.namespace), local), store)));
      return peer;
    },
  };
}
