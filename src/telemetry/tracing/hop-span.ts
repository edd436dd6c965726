// Telemetry/tracing: one span per hop — CLIENT on the outbound side, SERVER on the inbound side — with HTTP semconv and mesh attributes.
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_SERVER_ADDRESS,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import { httpStatusOfGrpc, type Downstream, type RetryListener } from '../../http/index.js';
import type { ProxyDirection } from '../proxy-metrics.js';
import { validSource } from '../source-table.js';
import { extractIncoming, traceHeaders, withTraceHeaders } from './propagation.js';

/** The mesh's own span attributes; docs/observability.md lists them. */
export const WEFT_ATTRIBUTES = {
  direction: 'weft.direction',
  source: 'weft.source',
  destination: 'weft.destination',
  upstreamInstance: 'weft.upstream.instance',
  upstreamAddress: 'weft.upstream.address',
  attempts: 'weft.attempts',
  retries: 'weft.retries',
  responseFlags: 'weft.response_flags',
  retryReason: 'weft.retry.reason',
  attempt: 'weft.attempt',
} as const;

/** Span names kept per bound factory: methods are client-chosen, so odd tokens beyond this are named per request. */
const MAX_CACHED_NAMES = 32;

/** Name of the span event added for every attempt that failed and was retried. */
export const RETRY_EVENT = 'retry';

/** How a hop ended, as the exchange knows it when it closes. */
export interface HopEnd {
  /** Status the client got: 499 when it left first, 0 when the response broke after its headers. */
  status: number;
  /** The weft error code of a synthetic or broken response; '' for a response from the application. */
  responseFlags: string;
  attempts: number;
  /** host:port of the last endpoint tried, '' for none. */
  upstreamAddress: string;
  /** Instance id of that endpoint (outbound), '' otherwise. */
  upstreamInstance: string;
  /** A gRPC call's grpc-status; absent for other requests. */
  grpcStatus?: number;
}

/** One hop's span, started when the request arrives and ended once when its exchange closes. */
export class HopSpan implements RetryListener {
  /** The trace this hop belongs to: the caller's, or a new one. */
  readonly traceId: string;
  /** traceparent (+ tracestate, + B3 in the caller's form) naming this span as the parent, for the forwarded request. */
  readonly headers: readonly string[];
  private readonly recording: boolean;

  constructor(private readonly span: Span, headers: string[]) {
    this.traceId = span.spanContext().traceId;
    this.headers = headers;
    this.recording = span.isRecording();
  }

  /** The headers to forward: the request's own, with this hop's trace context in place of the caller's. */
  forwarded(raw: readonly string[]): string[] {
    return withTraceHeaders(raw, this.headers);
  }

  /** An attempt failed and the request goes on to another endpoint: a span event, so the hop stays one span. */
  retried(reason: string, attempt: number, upstreamInstance: string, upstreamAddress: string): void {
    if (!this.recording) return;
    this.span.addEvent(RETRY_EVENT, {
      [WEFT_ATTRIBUTES.attempt]: attempt,
      [WEFT_ATTRIBUTES.retryReason]: reason,
      [WEFT_ATTRIBUTES.upstreamInstance]: upstreamInstance,
      [WEFT_ATTRIBUTES.upstreamAddress]: upstreamAddress,
    });
  }

  end(end: HopEnd): void {
    if (!this.recording) {
      this.span.end();
      return;
    }
    const span = this.span;
    const attributes: Attributes = {
      [WEFT_ATTRIBUTES.attempts]: end.attempts,
      [WEFT_ATTRIBUTES.retries]: end.attempts > 1 ? end.attempts - 1 : 0,
    };
    if (end.status > 0) attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = end.status;
    // OpenTelemetry's RPC conventions: a gRPC call's status, and an error when it stands for a server failure.
    const outcome = end.grpcStatus === undefined ? end.status : end.status === 200 ? httpStatusOfGrpc(end.grpcStatus) : end.status;
    if (end.grpcStatus !== undefined) attributes['rpc.grpc.status_code'] = end.grpcStatus;
    if (end.upstreamAddress !== '') attributes[WEFT_ATTRIBUTES.upstreamAddress] = end.upstreamAddress;
    if (end.upstreamInstance !== '') attributes[WEFT_ATTRIBUTES.upstreamInstance] = end.upstreamInstance;
    if (end.responseFlags !== '') {
      attributes[WEFT_ATTRIBUTES.responseFlags] = end.responseFlags;
      attributes[ATTR_ERROR_TYPE] = end.responseFlags;
      span.setStatus({ code: SpanStatusCode.ERROR, message: end.responseFlags });
    } else if (outcome >= 500) {
      attributes[ATTR_ERROR_TYPE] = end.grpcStatus === undefined ? String(end.status) : `grpc_status_${end.grpcStatus}`;
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.setAttributes(attributes);
    span.end();
  }
}

/** The spans of one direction and destination, bound once (per upstream, or per inbound server) so a request only looks up its method's name. */
export class HopSpans {
  private readonly names = new Map<string, string>();
  private readonly kind: SpanKind;

  constructor(
    private readonly tracer: Tracer,
    private readonly direction: ProxyDirection,
    private readonly source: string,
    private readonly destination: string,
  ) {
    this.kind = direction === 'outbound' ? SpanKind.CLIENT : SpanKind.SERVER;
  }

  /**
   * Starts the span of a request that just arrived; its parent is the trace context the request carries, if any.
   * `claimedSource` is the caller's x-weft-source (inbound), checked only for a recorded span.
   */
  start(downstream: Downstream, method: string, path: string, claimedSource?: string): HopSpan {
    const incoming = extractIncoming(downstream.headerMap());
    const span = this.tracer.startSpan(this.nameOf(method), { kind: this.kind }, incoming.context);
    if (span.isRecording()) span.setAttributes(this.startAttributes(downstream, method, path, claimedSource));
    return new HopSpan(span, traceHeaders(trace.setSpan(incoming.context, span), incoming.b3));
  }

  private nameOf(method: string): string {
    let name = this.names.get(method);
    if (name === undefined) {
      name = `${method} ${this.destination}`;
      if (this.names.size < MAX_CACHED_NAMES) this.names.set(method, name);
    }
    return name;
  }

  private startAttributes(downstream: Downstream, method: string, path: string, claimedSource: string | undefined): Attributes {
    const query = path.indexOf('?');
    const attributes: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: method,
      [ATTR_URL_PATH]: query < 0 ? path : path.slice(0, query),
      [ATTR_SERVER_ADDRESS]: this.destination,
      [WEFT_ATTRIBUTES.direction]: this.direction,
      [WEFT_ATTRIBUTES.destination]: this.destination,
    };
    const source = this.source !== '' ? this.source : validSource(claimedSource);
    if (source !== '') attributes[WEFT_ATTRIBUTES.source] = source;
    if (downstream.remoteAddress !== undefined) attributes[ATTR_NETWORK_PEER_ADDRESS] = downstream.remoteAddress;
    if (downstream.remotePort !== undefined) attributes[ATTR_NETWORK_PEER_PORT] = downstream.remotePort;
    return attributes;
  }
}

/** Hands out the bound span factories of one sidecar. */
export class HopTracer {
  constructor(
    private readonly tracer: Tracer,
    /** This sidecar's service: the source of its outbound spans and the destination of its inbound ones. */
    readonly localService: string,
  ) {}

  /** CLIENT spans of the requests the local app sends to `destination`. */
  outbound(destination: string): HopSpans {
    return new HopSpans(this.tracer, 'outbound', this.localService, destination);
  }

  /** SERVER spans of the requests peers send to the local app; the source is what the caller's sidecar announces. */
  inbound(): HopSpans {
    return new HopSpans(this.tracer, 'inbound', '', this.localService);
  }
}
