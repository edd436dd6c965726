// Outbound: the concrete stage of one subset — picks an endpoint, holds a connection slot, and reports each attempt's outcome to the balancer and the outlier detector.
import { AppUnavailableError, type Clock, type WeftError } from '../core/index.js';
import { isPeerAppUnavailable, outcomeStatus, type Dispatch, type FlowControl, type MeshRequest, type RawHeaders, type ResponseHandler } from '../http/index.js';
import type { Pick } from '../balance/index.js';
import type { Outcome } from '../core/index.js';
import type { PolicyMetrics } from '../telemetry/index.js';
import type { SubsetTarget, UpstreamPolicy } from './service-policy.js';

export interface ConcreteStageOptions {
  readonly clock: Clock;
  readonly policyMetrics: PolicyMetrics;
  /** The endpoint stage below: sends an attempt to `req.endpoint`. */
  readonly endpoint: Dispatch;
  /**
   * Treat a peer sidecar's `503` with `x-weft-error: APP_UNAVAILABLE` as a failed attempt rather than a response:
   * the request never reached an application, so it may go to another instance.
   */
  readonly peerAppUnavailableFails: boolean;
}

/** Built once per subset of a compiled policy; per attempt it makes a ConcreteAttempt. */
export class ConcreteStage {
  readonly dispatch: Dispatch;

  constructor(
    private readonly target: SubsetTarget,
    private readonly policy: UpstreamPolicy,
    private readonly options: ConcreteStageOptions,
  ) {
    this.dispatch = (req, handler) => this.send(req, handler);
  }

  private send(req: MeshRequest, handler: ResponseHandler): void {
    // The slot first: a pick counts against its endpoint (in-flight, latency) until its outcome is reported.
    const overflow = this.policy.limits.acquire('connections');
    if (overflow !== null) {
      this.options.policyMetrics.circuitRejected(overflow.code);
      handler.onError(overflow);
      return;
    }
    const pick = this.target.picker.pick(req);
    if (!pick.ok) {
      this.policy.limits.release('connections');
      handler.onError(pick.error);
      return;
    }
    req.endpoint = pick.endpoint;
    req.facts.endpoint = pick.endpoint;
    req.facts.attempts = req.attempt;
    this.options.endpoint(req, new ConcreteAttempt(this.policy, this.options, pick, req, handler));
  }
}

/** One attempt on a picked endpoint: passes the answer up and reports how it went, once. */
class ConcreteAttempt implements ResponseHandler, FlowControl {
  private readonly startedAt: number;
  private status = 0;
  /** The response's headers, kept for a gRPC call only: a Trailers-Only answer's grpc-status is there. */
  private head: RawHeaders | null = null;
  private flow: FlowControl | null = null;
  private reported = false;

  constructor(
    private readonly policy: UpstreamPolicy,
    private readonly options: ConcreteStageOptions,
    private readonly pick: Pick & { ok: true },
    private readonly req: MeshRequest,
    private readonly handler: ResponseHandler,
  ) {
    this.startedAt = options.clock.now();
  }

  onStart(status: number, headers: RawHeaders, flow: FlowControl, reason: string): void {
    if (this.options.peerAppUnavailableFails && isPeerAppUnavailable(status, headers) && (this.req.body === null || this.req.body.state() !== 'spent')) {
      flow.drop();
      const error = new AppUnavailableError(this.pick.endpoint.address);
      this.report({ kind: 'failure', latencyMs: this.latency(), error });
      this.handler.onError(error);
      return;
    }
    this.status = status;
    if (this.req.grpc) this.head = headers;
    this.flow = flow;
    this.handler.onStart(status, headers, this, reason);
  }

  onData(chunk: Buffer): boolean {
    return this.handler.onData(chunk);
  }

  onEnd(trailers: RawHeaders | null): void {
    // A gRPC call's status counts as the HTTP status it stands for: UNAVAILABLE is a 503 to outlier detection.
    this.report({ kind: 'success', latencyMs: this.latency(), status: outcomeStatus(this.status, this.head, trailers) });
    this.handler.onEnd(trailers);
  }

  onError(error: WeftError): void {
    // A client that left says nothing against the endpoint: what it had answered so far counts (0 when nothing).
    if (error.code === 'CANCELLED') this.report({ kind: 'success', latencyMs: this.latency(), status: this.status });
    else this.report({ kind: 'failure', latencyMs: this.latency(), error });
    this.handler.onError(error);
  }

  resume(): void {
    this.flow?.resume();
  }

  /** A stage above retries instead of passing this response on: for the endpoint it was an answer all the same. */
  drop(): void {
    // A retried Trailers-Only UNAVAILABLE was a 503 to this endpoint, as a retried HTTP 503 is.
    this.report({ kind: 'success', latencyMs: this.latency(), status: outcomeStatus(this.status, this.head, null) });
    this.flow?.drop();
  }

  private latency(): number {
    return this.options.clock.now() - this.startedAt;
  }

  private report(outcome: Outcome): void {
    if (this.reported) return;
    this.reported = true;
    this.policy.limits.release('connections');
    this.pick.done(outcome);
    this.policy.outlier?.record(this.pick.endpoint.id, outcome);
  }
}
