// Proxy: one upstream service of the outbound server: its balancer, picker and pools, and the retrying exchange.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallContext, Outcome, Runtime, WeftError } from '../core/index.js';
import type { Endpoint, Snapshot } from '../model/index.js';
import { createBalancer, type Balancer, type BalancerKind, type Pick, type Picker } from '../balance/index.js';
import { EndpointPools, Http1Exchange, type ForwardOptions, type PoolOptions } from '../transport/index.js';
import { retryReason, type RetryPolicy } from '../resilience/index.js';
import type { InFlightGauge, UpstreamMetrics } from '../telemetry/index.js';
import type { Drain } from './drain.js';
import { rescue } from './rescue.js';

/** Status recorded for a request whose client left before the response ended (as nginx does). */
export const CLIENT_CLOSED_STATUS = 499;

const NEVER_ABORTED = new AbortController().signal;
const FIRST_ATTEMPT: CallContext = { signal: NEVER_ABORTED, attempt: 1 };
const NO_ENDPOINTS: readonly Endpoint[] = [];

type Chosen = Extract<Pick, { ok: true }>;

export interface UpstreamOptions {
  readonly runtime: Runtime;
  readonly service: string;
  readonly balancer: BalancerKind;
  readonly forward: ForwardOptions;
  readonly retry: RetryPolicy;
  readonly pool?: PoolOptions;
  readonly metrics: UpstreamMetrics;
  readonly inFlight: InFlightGauge;
  readonly drain: Drain;
}

function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.id !== y.id || x.address !== y.address || x.weight !== y.weight) return false;
  }
  return true;
}

/** Built once per service; the request path reads its current picker and pools only. */
export class Upstream {
  readonly service: string;
  picker: Picker;
  readonly pools: EndpointPools;
  private readonly balancer: Balancer;
  private seen: readonly Endpoint[] | null = null;
  private passing: readonly Endpoint[] = NO_ENDPOINTS;

  constructor(readonly options: UpstreamOptions) {
    this.service = options.service;
    this.balancer = createBalancer(options.balancer, options.runtime.rng, options.service);
    this.picker = this.balancer.update(NO_ENDPOINTS);
    this.pools = new EndpointPools({ connectTimeoutMs: options.forward.connectTimeoutMs, ...options.pool });
  }

  /** Publishes a new picker when this service's endpoints changed in the snapshot. */
  refresh(snapshot: Snapshot): void {
    const all = snapshot.services.get(this.service) ?? NO_ENDPOINTS;
    if (all === this.seen) return;
    this.seen = all;
    const passing = all.filter((endpoint) => endpoint.health === 'passing');
    this.options.metrics.endpoints(passing.length, all.length - passing.length);
    if (sameEndpoints(passing, this.passing)) return;
    this.passing = passing;
    this.picker = this.balancer.update(passing);
    this.pools.retain(passing);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    new OutboundExchange(this, req, res).start();
  }

  destroy(): void {
    this.pools.destroy();
  }
}

/** One request through the outbound server: pick, forward, and on a retryable failure go to another endpoint. */
class OutboundExchange extends Http1Exchange {
  private chosen: Chosen | null = null;
  private exclude: Set<string> | null = null;
  private readonly startedAt: number;
  private attemptStartedAt = 0;

  constructor(
    private readonly upstream: Upstream,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    // Bodies are kept for replay whatever the method: the retry policy decides which failures may use them.
    super(req, res, upstream.options.forward, true);
    this.startedAt = upstream.options.runtime.clock.now();
    upstream.options.drain.begin();
    upstream.options.inFlight.inc();
  }

  start(): void {
    this.route(FIRST_ATTEMPT);
  }

  private route(ctx: CallContext): void {
    const pick = this.upstream.picker.pick(ctx);
    if (!pick.ok) {
      this.fail(pick.error);
      return;
    }
    this.chosen = pick;
    this.attemptStartedAt = this.upstream.options.runtime.clock.now();
    this.send(this.upstream.pools.get(pick.endpoint));
  }

  protected attemptFailed(error: WeftError): void {
    const chosen = this.chosen;
    this.chosen = null;
    const options = this.upstream.options;
    if (chosen !== null) chosen.done({ kind: 'failure', latencyMs: options.runtime.clock.now() - this.attemptStartedAt, error });
    const reason = retryReason(options.retry, error, this.attempt, this.method, this.bodyState());
    if (reason === null || chosen === null) {
      this.fail(error);
      return;
    }
    options.metrics.retry(reason);
    options.runtime.logger.debug({ service: this.upstream.service, endpoint: chosen.endpoint.address, code: error.code, attempt: this.attempt }, 'retrying on another endpoint');
    (this.exclude ??= new Set()).add(chosen.endpoint.id);
    this.route({ signal: NEVER_ABORTED, attempt: this.attempt + 1, exclude: this.exclude });
  }

  private fail(error: WeftError): void {
    this.upstream.options.metrics.error(error.code);
    this.discardBody();
    this.status = rescue(this.res, error);
  }

  protected responded(): void {
    if (this.upstream.options.drain.draining) this.res.shouldKeepAlive = false;
  }

  protected closed(): void {
    const options = this.upstream.options;
    const now = options.runtime.clock.now();
    const chosen = this.chosen;
    if (chosen !== null) {
      this.chosen = null;
      const latencyMs = now - this.attemptStartedAt;
      const failure = this.abortError;
      const outcome: Outcome = failure === null ? { kind: 'success', latencyMs, status: this.status } : { kind: 'failure', latencyMs, error: failure };
      chosen.done(outcome);
    }
    if (this.abortError !== null) options.metrics.error(this.abortError.code);
    options.metrics.request(this.clientGone ? CLIENT_CLOSED_STATUS : this.status, (now - this.startedAt) / 1000);
    options.inFlight.dec();
    options.drain.end();
  }
}
