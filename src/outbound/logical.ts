// Outbound: the logical stage — route, split, fault, deadline, circuit, then attempts with retries under the budget and backoff.
import { CANCELLED, DeadlineExceededError, UpstreamTimeoutError, type Runtime, type TimerHandle, type WeftError } from '../core/index.js';
import {
  DEADLINE_HEADER,
  formatGrpcTimeout,
  GRPC_TIMEOUT_HEADER,
  grpcStatusIn,
  headerValue,
  meshReplyMayBeProcessed,
  outcomeStatus,
  parseGrpcTimeout,
  RETRY_ATTEMPT_HEADER,
  withoutHeaders,
  withoutPerHopMeshHeaders,
  type Cancellable,
  type Dispatch,
  type FlowControl,
  type MeshRequest,
  type RawHeaders,
  type ResponseHandler,
} from '../http/index.js';
import { outboundDeadlineHeader, parseDeadlineHeader, remaining, retryBackoffMs, type RetryConditions } from '../resilience/index.js';
import { announceSource, type PolicyMetrics, type UpstreamMetrics } from '../telemetry/index.js';
import { enterCircuit, leaveCircuit, type CircuitVerdict } from './circuit.js';
import type { SubsetTarget, UpstreamPolicy } from './service-policy.js';

export interface LogicalStageOptions {
  readonly runtime: Runtime;
  readonly service: string;
  /** The service this workload belongs to ('' none): announced to the peer in x-weft-source. */
  readonly localService: string;
  readonly metrics: UpstreamMetrics;
  readonly policyMetrics: PolicyMetrics;
  /** The service's policy as compiled now; a request keeps the one it started with. */
  policy(): UpstreamPolicy;
}

/** Headers each hop sets anew for a gRPC call: the caller's deadline and retry count, and its grpc-timeout. */
const GRPC_PER_HOP_HEADERS = [DEADLINE_HEADER, RETRY_ATTEMPT_HEADER, GRPC_TIMEOUT_HEADER] as const;

/** Milliseconds the caller still waits: its x-weft-deadline-ms, or a gRPC call's grpc-timeout, the sooner. */
function callerDeadlineMs(req: MeshRequest): number | undefined {
  const headers = req.downstream.headerMap();
  const weft = parseDeadlineHeader(headers[DEADLINE_HEADER]);
  if (!req.grpc) return weft;
  const value = headers[GRPC_TIMEOUT_HEADER];
  const grpc = parseGrpcTimeout(typeof value === 'string' ? value : undefined);
  if (grpc === undefined) return weft;
  return weft === undefined ? grpc : Math.min(weft, grpc);
}

/** One stage per service; each request gets a LogicalCall that carries it from route to its last attempt. */
export class LogicalStage {
  readonly dispatch: Dispatch;

  constructor(readonly options: LogicalStageOptions) {
    this.dispatch = (req, handler) => new LogicalCall(this.options, this.options.policy(), req, handler).start();
  }
}

const enum Waiting {
  Nothing,
  FaultDelay,
  Backoff,
}

function onTimer(call: LogicalCall): void {
  call.onTimer();
}

/**
 * A request between the edge and its attempts. It is the handler of every attempt it makes: a failed attempt or a
 * retryable status is tried again on another endpoint while the conditions, the deadline and the budget allow; the
 * first response that is not retried goes up as it streams. Attempts it gave up make no more calls (their adapters drop them).
 */
class LogicalCall implements ResponseHandler, Cancellable {
  private target: SubsetTarget;
  private conditions: RetryConditions;
  /** Absolute deadline (clock ms): the policy's request timeout or the caller's x-weft-deadline-ms, the sooner. */
  private deadline: number | undefined = undefined;
  private deadlineFromCaller = false;
  /** The caller's own deadline (clock ms), whether or not the policy's is sooner; what a gRPC server is told. */
  private callerDeadline: number | undefined = undefined;
  /** The current attempt's timeout is the time left of the whole request, not the per-try timeout. */
  private tryBoundByDeadline = false;
  private exclude: Set<string> | null = null;
  private holds = 0;
  private timer: TimerHandle | null = null;
  private waiting = Waiting.Nothing;
  private retryReason = '';
  /** The headers as the first attempt gets them, and without the caller's per-hop mesh headers (built when needed). */
  private base: RawHeaders;
  private forwarded: RawHeaders | null = null;
  /** Status of the response passed up; 0 before one. */
  private status = 0;
  /** Its headers, kept for a gRPC call only: a Trailers-Only answer's grpc-status is there. */
  private head: RawHeaders | null = null;
  private finished = false;

  constructor(
    private readonly options: LogicalStageOptions,
    private readonly policy: UpstreamPolicy,
    private readonly req: MeshRequest,
    private readonly handler: ResponseHandler,
  ) {
    this.target = policy.all;
    this.conditions = policy.conditions;
    // The peer's inbound side labels its metrics with the caller's service; an app cannot pose as another service.
    announceSource(req.headers, options.localService);
    this.base = req.headers;
  }

  start(): void {
    const { policy, req } = this;
    policy.budget.recordRequest();
    const startedAt = req.facts.startedAt;
    const callerMs = callerDeadlineMs(req);
    if (callerMs !== undefined) this.callerDeadline = startedAt + callerMs;
    if (callerMs !== undefined && (policy.requestMs === undefined || callerMs < policy.requestMs)) {
      this.deadline = startedAt + callerMs;
      this.deadlineFromCaller = true;
    } else if (policy.requestMs !== undefined) {
      this.deadline = startedAt + policy.requestMs;
    }
    if (policy.routes !== null) {
      const route = policy.routes.match(req.path, req.downstream.headerMap());
      if (route !== undefined) {
        this.conditions = route.conditions;
        this.target = route.split.choose(this.options.runtime.rng)?.target ?? policy.all;
        const fault = route.fault;
        if (fault !== null) {
          const abort = fault.abort();
          if (abort !== null) {
            this.options.policyMetrics.fault('abort');
            this.fail(abort);
            return;
          }
          const delayMs = fault.delayMs();
          if (delayMs > 0) {
            this.options.policyMetrics.fault('delay');
            req.facts.faultDelayed = true;
            this.wait(Waiting.FaultDelay, delayMs);
            return;
          }
        }
      }
    }
    this.admit();
  }

  /** The circuit, then the first attempt. */
  private admit(): void {
    const held = enterCircuit(this.policy, this.options.policyMetrics);
    if (typeof held !== 'number') {
      this.fail(held);
      return;
    }
    this.holds = held;
    this.req.hashKey = this.policy.hashKey(this.req);
    this.next();
  }

  /** One more attempt, bounded by what is left of the deadline. */
  private next(): void {
    const req = this.req;
    // One reading for the check and the header: read twice, the clock could pass the deadline in between.
    const now = this.options.runtime.clock.now();
    let tryMs = this.policy.perTryMs;
    if (this.deadline !== undefined) {
      const left = remaining(this.deadline, now);
      if (left === 0) {
        // Spent before any attempt (a caller with no time left) says nothing about the service: the breaker is not told.
        if (req.facts.attempts === 0) this.settle('cancel');
        this.fail(this.deadlineError());
        return;
      }
      this.tryBoundByDeadline = left <= tryMs;
      if (this.tryBoundByDeadline) tryMs = Math.ceil(left);
    }
    req.attempt = req.facts.attempts + 1;
    req.exclude = this.exclude ?? undefined;
    req.attemptTimeoutMs = tryMs;
    req.headers = this.attemptHeaders(now);
    this.target.dispatch(req, this);
  }

  /** The caller's deadline and retry count are replaced by this hop's, never passed on beside them. */
  private attemptHeaders(now: number): RawHeaders {
    const attempt = this.req.attempt;
    if (this.deadline === undefined && attempt <= 1) return this.base;
    const grpc = this.req.grpc;
    const headers = (this.forwarded ??= grpc ? withoutHeaders(this.base, GRPC_PER_HOP_HEADERS) : withoutPerHopMeshHeaders(this.base)).slice();
    // next() has just seen time left at this same `now`, so the header always has a value.
    if (this.deadline !== undefined) {
      headers.push(DEADLINE_HEADER, outboundDeadlineHeader(this.deadline, now)!);
      // A gRPC call that had a deadline tells the server the time left of it in its own terms; the policy's timeout,
      // which bounds only the wait for the response head here, never becomes the call's deadline there.
      if (grpc && this.callerDeadline !== undefined && headerValue(this.base, GRPC_TIMEOUT_HEADER) !== undefined) headers.push(GRPC_TIMEOUT_HEADER, formatGrpcTimeout(this.callerDeadline - now));
    }
    if (attempt > 1) headers.push(RETRY_ATTEMPT_HEADER, String(attempt - 1));
    return headers;
  }

  // The attempts' answers.

  onStart(status: number, headers: RawHeaders, flow: FlowControl, reason: string): void {
    if (this.finished) return;
    if ((status >= 300 && this.retriesStatus(status)) || (status === 200 && this.req.grpc && this.retriesGrpc(headers))) {
      // The response is dropped before its headers reach the client (its body is read and discarded where the connection allows).
      flow.drop();
      this.retry();
      return;
    }
    this.status = status;
    if (this.req.grpc) this.head = headers;
    this.handler.onStart(status, headers, flow, reason);
  }

  onData(chunk: Buffer): boolean {
    return this.handler.onData(chunk);
  }

  onEnd(trailers: RawHeaders | null): void {
    if (this.finished) return;
    this.settle(outcomeStatus(this.status, this.head, trailers) >= 500 ? 'failure' : 'success');
    this.handler.onEnd(trailers);
  }

  onError(error: WeftError): void {
    if (this.finished) return;
    const req = this.req;
    // After the headers nothing can be tried again; a refusal before anything was sent (no endpoint, no slot) is final; so is a client gone.
    if (this.status !== 0 || error.code === 'CANCELLED' || req.facts.attempts < req.attempt) {
      this.settle(error.code === 'CANCELLED' ? 'cancel' : 'failure');
      this.handler.onError(error);
      return;
    }
    this.attemptFailed(error);
  }

  // Cancellable: the client left during a fault delay or a backoff.

  cancel(): void {
    if (this.finished) return;
    this.clearTimer();
    this.settle('cancel');
    this.handler.onError(CANCELLED);
  }

  /** @internal the fault delay or the retry backoff is over. */
  onTimer(): void {
    this.timer = null;
    const waiting = this.waiting;
    this.waiting = Waiting.Nothing;
    if (this.req.pending === this) this.req.pending = null;
    if (this.finished) return;
    if (waiting === Waiting.FaultDelay) this.admit();
    else if (waiting === Waiting.Backoff) this.next();
  }

  /** Whether a response with this status is a failed attempt to try again, decided before its headers reach the client. */
  private retriesStatus(status: number): boolean {
    const conditions = this.conditions;
    const req = this.req;
    const body = req.body === null ? 'none' : req.body.state();
    if (body === 'spent' || !conditions.retriesStatus(status)) return false;
    const reason = conditions.decide({ status }, req.facts.attempts, req.method, body);
    if (reason === null || !this.timeLeft() || !this.spendBudget()) return false;
    this.retryReason = reason;
    return true;
  }

  /** Whether a gRPC call's Trailers-Only answer carries a status the conditions retry (UNAVAILABLE by default). */
  private retriesGrpc(headers: RawHeaders): boolean {
    const code = grpcStatusIn(headers);
    if (code === undefined || !this.conditions.retriesGrpc(code) || meshReplyMayBeProcessed(headers)) return false;
    const req = this.req;
    const reason = this.conditions.decideGrpc(code, req.facts.attempts, req.body === null ? 'none' : req.body.state());
    if (reason === null || !this.timeLeft() || !this.spendBudget()) return false;
    this.retryReason = reason;
    return true;
  }

  private attemptFailed(error: WeftError): void {
    const req = this.req;
    const attempts = req.facts.attempts;
    const body = req.body === null ? 'none' : req.body.state();
    let reason: string | null;
    if (error.code === 'UPSTREAM_TIMEOUT') {
      // The whole request's time is up; a per-try timeout counts as a 504 for retry.on (gateway-error or "504").
      if (this.tryBoundByDeadline) {
        this.fail(this.deadlineFromCaller ? new DeadlineExceededError(this.deadline) : error);
        return;
      }
      reason = this.conditions.decide({ status: 504 }, attempts, req.method, body);
    } else {
      reason = this.conditions.decide({ error }, attempts, req.method, body);
    }
    // An attempt that reached no application (refused connection, a peer sidecar's app down) costs no app any work:
    // its retry is bounded by the attempts, not drawn from the budget, so a dead instance still on offer fails no request.
    const reachedNoApp = reason === 'connect_failure';
    if (reason === null || !this.timeLeft() || (!reachedNoApp && !this.spendBudget())) {
      this.fail(error);
      return;
    }
    // The metric keeps its established labels: connect_failed and app_unavailable say which of the two it was.
    this.retryReason = reason === 'connect_failure' ? (error.code === 'APP_UNAVAILABLE' ? 'app_unavailable' : 'connect_failed') : reason;
    this.retry();
  }

  private retry(): void {
    const { options, req } = this;
    const endpoint = req.endpoint!;
    const attempts = req.facts.attempts;
    options.metrics.retry(this.retryReason);
    options.runtime.logger.debug({ service: options.service, endpoint: endpoint.address, reason: this.retryReason, attempt: attempts }, 'retrying on another endpoint');
    req.facts.retries?.retried(this.retryReason, attempts, endpoint.id, endpoint.address);
    (this.exclude ??= new Set()).add(endpoint.id);
    const pauseMs = retryBackoffMs(attempts, this.policy.backoff, options.runtime.rng);
    if (this.deadline !== undefined && options.runtime.clock.now() + pauseMs >= this.deadline) {
      this.fail(this.deadlineError());
      return;
    }
    if (pauseMs >= 1) this.wait(Waiting.Backoff, pauseMs);
    else this.next();
  }

  private wait(what: Waiting, ms: number): void {
    this.waiting = what;
    this.timer = this.options.runtime.clock.setTimer(onTimer, ms, this);
    this.req.pending = this;
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      this.options.runtime.clock.clearTimer(this.timer);
      this.timer = null;
      this.waiting = Waiting.Nothing;
    }
    if (this.req.pending === this) this.req.pending = null;
  }

  private timeLeft(): boolean {
    return this.deadline === undefined || this.deadline - this.options.runtime.clock.now() > 0;
  }

  private spendBudget(): boolean {
    if (this.policy.budget.tryRetry()) return true;
    this.options.policyMetrics.retryBudgetExhausted();
    return false;
  }

  /** The request's time ran out: its own timeout (UPSTREAM_TIMEOUT), or the caller's deadline (DEADLINE_EXCEEDED). */
  private deadlineError(): WeftError {
    if (this.deadlineFromCaller) return new DeadlineExceededError(this.deadline);
    return new UpstreamTimeoutError(this.options.service, this.policy.requestMs ?? 0);
  }

  private fail(error: WeftError): void {
    if (!this.finished) this.settle('failure');
    this.handler.onError(error);
  }

  private settle(verdict: CircuitVerdict): void {
    this.finished = true;
    leaveCircuit(this.policy, this.holds, verdict);
    this.holds = 0;
  }
}
