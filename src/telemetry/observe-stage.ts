// Telemetry: the observe stage at the edge of every stack — each request's metrics, Istio series, access-log line and span, written once from its facts.
import type { Clock, WeftError } from '../core/index.js';
import { grpcOfHttp, grpcStatusIn, grpcStatusOf, httpStatusOfGrpc, statusOf, type Dispatch, type FlowControl, type Layer, type MeshRequest, type RawHeaders, type RequestFacts, type ResponseHandler } from '../http/index.js';
import type { AccessLog } from './access-log.js';
import { istioResponseFlag, type IstioPeerMetrics } from './istio-metrics.js';
import { CLIENT_CLOSED_STATUS, type InFlightGauge, type ProxyDirection, type UpstreamMetrics } from './proxy-metrics.js';
import type { HopSpan, HopSpans } from './tracing/hop-span.js';

/** Where one request's figures go: bound per destination service (outbound) or per calling service (inbound). */
export interface HopSink {
  readonly metrics: UpstreamMetrics;
  /** Null when tracing is off. */
  readonly spans: HopSpans | null;
  /** Whether Istio's series are kept (then `istio` is asked at the end). */
  readonly istioEnabled: boolean;
  /** The Istio series of the request's peer, known once the request is over (outbound: the endpoint's version). */
  istio(facts: RequestFacts): IstioPeerMetrics | null;
}

export interface ObserveOptions {
  readonly direction: ProxyDirection;
  readonly clock: Clock;
  readonly inFlight: InFlightGauge;
  /** Null when access logging is off. */
  readonly accessLog: AccessLog | null;
  /** The request's sink, asked once as it arrives. */
  sinkOf(req: MeshRequest): HopSink;
}

/**
 * Wraps a stack so that every request is observed once: in flight while it runs, then counted by its status, logged
 * when sampled, and ended in its span, whether it was answered, refused by a stage, broken off, or left by its client.
 */
export class ObserveStage {
  readonly dispatch: Dispatch;

  constructor(
    private readonly next: Dispatch,
    readonly options: ObserveOptions,
  ) {
    this.dispatch = (req, handler) => this.next(req, new ObservedCall(this.options, req, handler));
  }

  /** Answers a request the edge refused before any stack took it, observed like the rest. */
  refuse(req: MeshRequest, handler: ResponseHandler, error: WeftError): void {
    new ObservedCall(this.options, req, handler).onError(error);
  }
}

/** The observe stage as a layer. */
export function observeLayer(options: ObserveOptions): Layer {
  return (next) => new ObserveStage(next, options).dispatch;
}

/** One observed request: passes everything up unchanged and records when the last call passes. */
class ObservedCall implements ResponseHandler {
  private readonly sink: HopSink;
  private readonly span: HopSpan | null;
  private readonly logged: boolean;
  private readonly bytesBefore: number;
  private status = 0;
  /** A gRPC call's response headers: a Trailers-Only answer's grpc-status is there. */
  private head: RawHeaders | null = null;

  constructor(
    private readonly options: ObserveOptions,
    private readonly req: MeshRequest,
    private readonly handler: ResponseHandler,
  ) {
    const sink = (this.sink = options.sinkOf(req));
    options.inFlight.inc();
    const spans = sink.spans;
    if (spans === null) {
      this.span = null;
    } else {
      const span = (this.span = spans.start(req.downstream, req.method, req.path, req.facts.source));
      // The next hop's parent is this hop's span, in place of the caller's.
      req.headers = span.forwarded(req.headers);
      req.facts.retries = span;
    }
    this.logged = options.accessLog !== null && options.accessLog.sampled();
    this.bytesBefore = this.logged || sink.istioEnabled ? req.downstream.bytesWritten() : 0;
  }

  onStart(status: number, headers: RawHeaders, flow: FlowControl, reason: string): void {
    this.status = status;
    if (this.req.grpc) this.head = headers;
    this.handler.onStart(status, headers, flow, reason);
  }

  onData(chunk: Buffer): boolean {
    return this.handler.onData(chunk);
  }

  onEnd(trailers: RawHeaders | null): void {
    this.handler.onEnd(trailers);
    // A gRPC response without a grpc-status is what its client makes of the HTTP status: UNKNOWN for a 200.
    this.record(this.status, '', false, this.req.grpc ? (grpcStatusIn(trailers) ?? grpcStatusIn(this.head) ?? grpcOfHttp(this.status)) : -1);
  }

  onError(error: WeftError): void {
    this.handler.onError(error);
    const grpc = this.req.grpc ? grpcStatusOf(error) : -1;
    if (error.code === 'CANCELLED') {
      this.record(CLIENT_CLOSED_STATUS, '', true, grpc);
      return;
    }
    this.sink.metrics.error(error.code);
    // Before the headers the client was answered with the error's status (a gRPC call: 200 and the gRPC status); after
    // them it got a broken response of the status already sent.
    this.record(this.status === 0 ? (grpc >= 0 ? 200 : statusOf(error)) : this.status, error.code, false, grpc);
  }

  /** `grpcStatus`: what a gRPC call's client was told, -1 for other requests. */
  private record(status: number, responseFlags: string, clientGone: boolean, grpcStatus: number): void {
    const { options, req, sink } = this;
    const facts = req.facts;
    const ms = options.clock.now() - facts.startedAt;
    if (grpcStatus < 0) {
      sink.metrics.request(status, ms / 1000);
    } else {
      sink.metrics.request(status, ms / 1000, status === 200 ? httpStatusOfGrpc(grpcStatus) : status);
      sink.metrics.grpc(req.path, grpcStatus);
    }
    const endpoint = facts.endpoint;
    const upstreamAddress = endpoint?.address ?? facts.upstreamAddress;
    const upstreamInstance = endpoint?.id ?? '';
    this.span?.end({ status, responseFlags, attempts: facts.attempts, upstreamAddress, upstreamInstance, ...(grpcStatus < 0 ? {} : { grpcStatus }) });
    const bytesOut = this.logged || sink.istioEnabled ? req.downstream.bytesWritten() - this.bytesBefore : 0;
    if (sink.istioEnabled) {
      sink.istio(facts)?.request(status, istioResponseFlag(responseFlags, clientGone, facts.faultDelayed), ms, facts.bytesIn, bytesOut, grpcStatus);
    }
    if (this.logged) {
      options.accessLog!.record({
        direction: options.direction,
        headers: req.downstream.headerMap(),
        method: req.method,
        path: req.path,
        startedAt: facts.startedAt,
        status,
        bytesIn: facts.bytesIn,
        bytesOut,
        upstream: upstreamAddress,
        upstreamInstance,
        attempts: facts.attempts,
        responseFlags,
        traceId: this.span?.traceId,
        source: facts.source,
        destination: facts.destination,
        grpcStatus: grpcStatus < 0 ? undefined : grpcStatus,
      });
    }
    options.inFlight.dec();
  }
}
