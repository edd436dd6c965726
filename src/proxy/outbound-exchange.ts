// Proxy: one request through the outbound server — route, fault, breakers, deadline, pick, send, and retries within the budget.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DeadlineExceededError, UpstreamTimeoutError, type CallContext, type Outcome, type WeftError } from '../core/index.js';
import type { Pick } from '../balance/index.js';
import type { Endpoint } from '../model/index.js';
import { Http1Exchange } from '../transport/index.js';
import { DEADLINE_HEADER, parseDeadlineHeader, retryBackoffMs, type RetryConditions } from '../resilience/index.js';
import { announceSource, CLIENT_CLOSED_STATUS, istioResponseFlag } from '../telemetry/index.js';
import { rescue } from './rescue.js';
import type { Upstream } from './upstream.js';
import type { SubsetTarget, UpstreamPolicy } from './upstream-policy.js';

/** The retry number (1 for the first retry) on every attempt after the first. */
export const RETRY_ATTEMPT_HEADER = 'x-weft-retry-attempt';

const NEVER_ABORTED = new AbortController().signal;
const FIRST_ATTEMPT: CallContext = { signal: NEVER_ABORTED, attempt: 1 };

type Chosen = Extract<Pick, { ok: true }>;

/** What the exchange's one timer is waiting for. */
const Waiting = { Nothing: 0, FaultDelay: 1, Backoff: 2 } as const;
type Waiting = (typeof Waiting)[keyof typeof Waiting];

/** Resources the request holds, given back exactly once. */
const HOLDS_PENDING = 1;
const HOLDS_CONNECTION = 2;
const HOLDS_BREAKER = 4;

function onTimer(exchange: OutboundExchange): void {
  exchange.onTimer();
}

/**
 * Keeps the policy it started with: a policy swapped in meanwhile applies to the next requests. A service without
 * routes, faults or a consecutive breaker costs a few counter updates over a plain forward, and no extra objects.
 */
export class OutboundExchange extends Http1Exchange {
  private chosen: Chosen | null = null;
  private exclude: Set<string> | null = null;
  private readonly startedAt: number;
  private attemptStartedAt = 0;
  private target: SubsetTarget;
  private conditions: RetryConditions;
  /** Absolute deadline (clock ms): the policy's request timeout or the caller's x-weft-deadline-ms, the sooner. */
  private deadline: number | undefined = undefined;
  private deadlineFromCaller = false;
  /** The current attempt's timeout is the time left of the whole request, not the per-try timeout. */
  private tryBoundByDeadline = false;
  private hashKey: string | undefined = undefined;
  private holds = 0;
  private waitTimer: NodeJS.Timeout | null = null;
  private waiting: Waiting = Waiting.Nothing;
  private retryReason = '';
  private forwarded: string[] | null = null;
  /** Access-log state, touched only when the request was sampled. */
  private readonly logged: boolean;
  private bytesIn = 0;
  private bytesWrittenBefore = 0;
  private responseFlags = '';
  private lastEndpoint: Endpoint | null = null;
  /** A route's fault delayed the request (Istio's DI flag). */
  private faultDelayed = false;

  constructor(
    private readonly upstream: Upstream,
    private readonly policy: UpstreamPolicy,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    // Bodies are kept for replay whatever the method: the retry conditions decide which failures may use them.
    super(req, res, upstream.options.forward, true);
    this.startedAt = upstream.options.runtime.clock.now();
    this.target = policy.all;
    this.conditions = policy.conditions;
    // The peer's inbound side labels its metrics with the caller's service; an app cannot pose as another service.
    announceSource(this.headers, upstream.options.localService);
    upstream.options.drain.begin();
    upstream.options.inFlight.inc();
    const log = upstream.options.accessLog;
    this.logged = log !== null && log.sampled();
    if (this.logged || upstream.options.istio !== null) this.bytesWrittenBefore = req.socket.bytesWritten;
  }

  override onClientData(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    super.onClientData(chunk);
  }

  start(): void {
    const policy = this.policy;
    policy.budget.recordRequest();
    const inbound = this.req.headers[DEADLINE_HEADER];
    const callerMs = inbound === undefined ? undefined : parseDeadlineHeader(inbound);
    if (callerMs !== undefined && (policy.requestMs === undefined || callerMs < policy.requestMs)) {
      this.deadline = this.startedAt + callerMs;
      this.deadlineFromCaller = true;
    } else if (policy.requestMs !== undefined) {
      this.deadline = this.startedAt + policy.requestMs;
    }
    if (policy.routes !== null) {
      const route = policy.routes.match(this.path, this.req.headers);
      if (route !== undefined) {
        this.conditions = route.conditions;
        this.target = route.split.choose(this.upstream.options.runtime.rng)?.target ?? policy.all;
        const fault = route.fault;
        if (fault !== null) {
          const abort = fault.abort();
          if (abort !== null) {
            this.upstream.options.policyMetrics.fault('abort');
            this.fail(abort);
            return;
          }
          const delayMs = fault.delayMs();
          if (delayMs > 0) {
            this.upstream.options.policyMetrics.fault('delay');
            this.faultDelayed = true;
            this.wait(Waiting.FaultDelay, delayMs);
            return;
          }
        }
      }
    }
    this.admit();
  }

  /** Breakers, then the first attempt. */
  private admit(): void {
    const policy = this.policy;
    const overflow = policy.limits.acquire('pending');
    if (overflow !== null) {
      this.upstream.options.policyMetrics.circuitRejected(overflow.code);
      this.fail(overflow);
      return;
    }
    this.holds |= HOLDS_PENDING;
    if (policy.breaker !== null) {
      const open = policy.breaker.admit();
      if (open !== null) {
        this.upstream.options.policyMetrics.circuitRejected(open.code);
        this.fail(open);
        return;
      }
      this.holds |= HOLDS_BREAKER;
    }
    this.hashKey = policy.hashKey(this.req);
    this.next(this.hashKey === undefined ? FIRST_ATTEMPT : { signal: NEVER_ABORTED, attempt: 1, hashKey: this.hashKey });
  }

  private next(ctx: CallContext): void {
    const clock = this.upstream.options.runtime.clock;
    const now = clock.now();
    let tryMs = this.policy.perTryMs;
    if (this.deadline !== undefined) {
      const left = this.deadline - now;
      if (left <= 0) {
        this.fail(this.deadlineError());
        return;
      }
      this.tryBoundByDeadline = left <= tryMs;
      if (this.tryBoundByDeadline) tryMs = Math.ceil(left);
    }
    const pick = this.target.picker.pick(ctx);
    if (!pick.ok) {
      this.fail(pick.error);
      return;
    }
    const overflow = this.policy.limits.acquire('connections');
    if (overflow !== null) {
      this.upstream.options.policyMetrics.circuitRejected(overflow.code);
      this.fail(overflow);
      return;
    }
    this.holds |= HOLDS_CONNECTION;
    this.chosen = pick;
    this.lastEndpoint = pick.endpoint;
    this.attemptStartedAt = now;
    this.send(this.upstream.pools.get(pick.endpoint), tryMs);
  }

  protected override attemptHeaders(): string[] {
    if (this.deadline === undefined && this.attempt <= 1) return this.headers;
    // The caller's deadline and retry count are replaced by this hop's, never passed on beside them.
    const base = (this.forwarded ??= withoutMeshHeaders(this.headers));
    const headers = base.slice();
    if (this.deadline !== undefined) headers.push(DEADLINE_HEADER, String(Math.max(1, Math.floor(this.deadline - this.upstream.options.runtime.clock.now()))));
    if (this.attempt > 1) headers.push(RETRY_ATTEMPT_HEADER, String(this.attempt - 1));
    return headers;
  }

  protected override retriesStatus(status: number): boolean {
    const conditions = this.conditions;
    if (!conditions.retriesStatus(status)) return false;
    const reason = conditions.decide({ status }, this.attempt, this.method, this.bodyState());
    if (reason === null || !this.timeLeft() || !this.spendBudget()) return false;
    this.retryReason = reason;
    return true;
  }

  protected override statusRetried(status: number): void {
    const chosen = this.endAttempt({ kind: 'success', latencyMs: this.upstream.options.runtime.clock.now() - this.attemptStartedAt, status });
    if (chosen === null) return;
    this.retry(chosen);
  }

  protected attemptFailed(error: WeftError): void {
    const chosen = this.endAttempt({ kind: 'failure', latencyMs: this.upstream.options.runtime.clock.now() - this.attemptStartedAt, error });
    let reason: string | null;
    if (error.code === 'UPSTREAM_TIMEOUT') {
      // The whole request's time is up; a per-try timeout counts as a 504 for retry.on (gateway-error or "504").
      if (this.tryBoundByDeadline) {
        this.fail(this.deadlineFromCaller ? new DeadlineExceededError(this.deadline) : error);
        return;
      }
      reason = this.conditions.decide({ status: 504 }, this.attempt, this.method, this.bodyState());
    } else {
      reason = this.conditions.decide({ error }, this.attempt, this.method, this.bodyState());
    }
    // An attempt that reached no application (refused connection, a peer sidecar's app down) costs no app any work:
    // its retry is bounded by the attempts, not drawn from the budget, so a dead instance still on offer fails no request.
    const reachedNoApp = reason === 'connect_failure';
    if (reason === null || chosen === null || !this.timeLeft() || (!reachedNoApp && !this.spendBudget())) {
      this.fail(error);
      return;
    }
    // The metric keeps its established labels: connect_failed and app_unavailable say which of the two it was.
    this.retryReason = reason === 'connect_failure' ? (error.code === 'APP_UNAVAILABLE' ? 'app_unavailable' : 'connect_failed') : reason;
    this.retry(chosen);
  }

  /** Reports the attempt's outcome to its balancer and the outlier detector, and gives its connection slot back. */
  private endAttempt(outcome: Outcome): Chosen | null {
    const chosen = this.chosen;
    this.chosen = null;
    if (this.holds & HOLDS_CONNECTION) {
      this.holds &= ~HOLDS_CONNECTION;
      this.policy.limits.release('connections');
    }
    if (chosen !== null) {
      chosen.done(outcome);
      this.policy.outlier?.record(chosen.endpoint.id, outcome);
    }
    return chosen;
  }

  private retry(chosen: Chosen): void {
    const options = this.upstream.options;
    options.metrics.retry(this.retryReason);
    options.runtime.logger.debug({ service: this.upstream.service, endpoint: chosen.endpoint.address, reason: this.retryReason, attempt: this.attempt }, 'retrying on another endpoint');
    (this.exclude ??= new Set()).add(chosen.endpoint.id);
    const pauseMs = retryBackoffMs(this.attempt, this.policy.backoff, options.runtime.rng);
    if (this.deadline !== undefined && options.runtime.clock.now() + pauseMs >= this.deadline) {
      this.fail(this.deadlineError());
      return;
    }
    if (pauseMs >= 1) this.wait(Waiting.Backoff, pauseMs);
    else this.retryNow();
  }

  private retryNow(): void {
    this.next({ signal: NEVER_ABORTED, attempt: this.attempt + 1, exclude: this.exclude ?? undefined, hashKey: this.hashKey });
  }

  /** @internal the fault delay or the retry backoff is over. */
  onTimer(): void {
    this.waitTimer = null;
    const waiting = this.waiting;
    this.waiting = Waiting.Nothing;
    if (this.finished) return;
    if (waiting === Waiting.FaultDelay) this.admit();
    else if (waiting === Waiting.Backoff) this.retryNow();
  }

  private wait(what: Waiting, ms: number): void {
    this.waiting = what;
    this.waitTimer = setTimeout(onTimer, ms, this);
  }

  private timeLeft(): boolean {
    return this.deadline === undefined || this.deadline - this.upstream.options.runtime.clock.now() > 0;
  }

  private spendBudget(): boolean {
    if (this.policy.budget.tryRetry()) return true;
    this.upstream.options.policyMetrics.retryBudgetExhausted();
    return false;
  }

  /** The request's time ran out: its own timeout (UPSTREAM_TIMEOUT), or the caller's deadline (DEADLINE_EXCEEDED). */
  private deadlineError(): WeftError {
    if (this.deadlineFromCaller) return new DeadlineExceededError(this.deadline);
    return new UpstreamTimeoutError(this.upstream.service, this.policy.requestMs ?? 0);
  }

  private fail(error: WeftError): void {
    this.upstream.options.metrics.error(error.code);
    this.discardBody();
    this.status = rescue(this.res, error);
    this.responseFlags = error.code;
  }

  protected responded(): void {
    if (this.upstream.options.drain.draining) this.res.shouldKeepAlive = false;
  }

  protected closed(): void {
    const options = this.upstream.options;
    const now = options.runtime.clock.now();
    if (this.waitTimer !== null) {
      clearTimeout(this.waitTimer);
      this.waitTimer = null;
      this.waiting = Waiting.Nothing;
    }
    const failure = this.abortError;
    if (this.chosen !== null) {
      const latencyMs = now - this.attemptStartedAt;
      this.endAttempt(failure === null ? { kind: 'success', latencyMs, status: this.status } : { kind: 'failure', latencyMs, error: failure });
    } else if (this.holds & HOLDS_CONNECTION) {
      this.holds &= ~HOLDS_CONNECTION;
      this.policy.limits.release('connections');
    }
    if (this.holds & HOLDS_PENDING) this.policy.limits.release('pending');
    if (this.holds & HOLDS_BREAKER) {
      const breaker = this.policy.breaker!;
      if (this.clientGone) breaker.onCancel();
      else if (failure !== null || this.status >= 500 || this.status === 0) breaker.onFailure();
      else breaker.onSuccess();
    }
    this.holds = 0;
    if (failure !== null) options.metrics.error(failure.code);
    const status = this.clientGone ? CLIENT_CLOSED_STATUS : this.status;
    options.metrics.request(status, (now - this.startedAt) / 1000);
    if (options.istio !== null) this.recordIstio(status, failure, now);
    if (this.logged) this.log(status, failure);
    options.inFlight.dec();
    options.drain.end();
  }

  private recordIstio(status: number, failure: WeftError | null, now: number): void {
    const flag = istioResponseFlag(failure?.code ?? this.responseFlags, this.clientGone, this.faultDelayed);
    const peer = this.upstream.options.istio!.version(this.lastEndpoint?.meta['version'] ?? '');
    peer.request(status, flag, now - this.startedAt, this.bytesIn, this.req.socket.bytesWritten - this.bytesWrittenBefore);
  }

  private log(status: number, failure: WeftError | null): void {
    const options = this.upstream.options;
    options.accessLog!.record({
      direction: 'outbound',
      req: this.req,
      method: this.method,
      path: this.path,
      startedAt: this.startedAt,
      status,
      bytesIn: this.bytesIn,
      bytesOut: this.req.socket.bytesWritten - this.bytesWrittenBefore,
      upstream: this.lastEndpoint?.address ?? '',
      upstreamInstance: this.lastEndpoint?.id ?? '',
      attempts: this.attempt,
      responseFlags: failure?.code ?? this.responseFlags,
      source: options.localService,
      destination: this.upstream.service,
    });
  }
}

/** The forwarded headers without a caller's x-weft-deadline-ms and x-weft-retry-attempt, which this hop sets anew. */
function withoutMeshHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if ((name.length === DEADLINE_HEADER.length && name.toLowerCase() === DEADLINE_HEADER) || (name.length === RETRY_ATTEMPT_HEADER.length && name.toLowerCase() === RETRY_ATTEMPT_HEADER)) continue;
    out.push(name, raw[i + 1]!);
  }
  return out;
}
