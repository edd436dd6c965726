// Outbound: one service's policy compiled once — routes, splits, a balancer and a concrete stage per subset, retries, breakers, ejection, active checks.
import type { Runtime } from '../core/index.js';
import { defaultPolicy, POLICY_DEFAULTS, type Endpoint, type HashOn, type ServicePolicy } from '../model/index.js';
import { createBalancer, type Balancer, type BalancerKind, type Picker } from '../balance/index.js';
import {
  BREAKER_STATE_VALUE,
  BreakerLimits,
  ConsecutiveBreaker,
  EndpointHealthChecker,
  FaultInjector,
  OutlierDetector,
  RetryBudget,
  RetryConditions,
  RouteTable,
  TrafficSplit,
  subsetEndpoints,
  type RetryBackoffOptions,
  type RouteMatch,
  type SubsetSelector,
} from '../resilience/index.js';
import type { PolicyMetrics } from '../telemetry/index.js';
import type { Dispatch, MeshRequest } from '../http/index.js';

/** The sidecar's own settings, which apply where a service has no policy (or its policy leaves the algorithm at the default). */
export interface SidecarDefaults {
  readonly balancer: BalancerKind;
  /** Per-try response timeout of services without a policy. */
  readonly responseTimeoutMs: number;
  /** Attempts in all of services without a policy. */
  readonly maxAttempts: number;
}

/** The endpoints of one subset (all of them for an empty selector) behind their own balancer and concrete stage. */
export class SubsetTarget {
  picker: Picker;
  /** The concrete stage of this subset: what the logical stage sends each attempt to. */
  dispatch: Dispatch = unwired;
  constructor(
    readonly subset: SubsetSelector,
    private readonly balancer: Balancer,
  ) {
    this.picker = balancer.update([]);
  }

  update(endpoints: readonly Endpoint[]): void {
    this.picker = this.balancer.update(subsetEndpoints(endpoints, this.subset));
  }
}

export interface CompiledBackend {
  readonly weight: number;
  readonly target: SubsetTarget;
}

export interface CompiledRoute {
  readonly match: RouteMatch;
  readonly split: TrafficSplit<CompiledBackend>;
  /** Null when the route injects no fault, so the request path skips it. */
  readonly fault: FaultInjector | null;
  readonly conditions: RetryConditions;
}

export interface UpstreamPolicyDeps {
  readonly runtime: Runtime;
  readonly service: string;
  readonly defaults: SidecarDefaults;
  readonly metrics: PolicyMetrics;
  /** Builds the concrete stage of one subset of this policy, once, when the policy is compiled. */
  readonly concrete: (target: SubsetTarget, policy: UpstreamPolicy) => Dispatch;
}

function unwired(): void {
  throw new Error('a subset target was used before its concrete stage was built');
}

/**
 * Built when the service's policy changes identity in the snapshot, then only read by requests (which keep the one
 * they started with, so a swap drops nothing in flight). Pickers are rebuilt from passing ∩ healthy-by-active-check ∩
 * not-ejected endpoints, per subset, when the endpoints change or a checker or the outlier detector changes its mind.
 */
export class UpstreamPolicy {
  /** Null without routes: every request goes to `all`. */
  readonly routes: RouteTable<CompiledRoute> | null;
  readonly all: SubsetTarget;
  readonly conditions: RetryConditions;
  readonly budget: RetryBudget;
  readonly backoff: RetryBackoffOptions;
  readonly limits: BreakerLimits;
  /** Null when consecutiveFailures is 0. */
  readonly breaker: ConsecutiveBreaker | null;
  readonly outlier: OutlierDetector | null;
  readonly health: EndpointHealthChecker | null;
  /** Overall request timeout; undefined for a service without a policy (only a caller's deadline bounds it). */
  readonly requestMs: number | undefined;
  readonly perTryMs: number;
  readonly hashOn: HashOn | undefined;
  private readonly targets: SubsetTarget[] = [];
  private endpoints: readonly Endpoint[] = [];
  private rebuilding = false;
  private dirty = false;

  constructor(
    /** The snapshot's policy object this was compiled from; undefined for a service without one. */
    readonly source: ServicePolicy | undefined,
    private readonly deps: UpstreamPolicyDeps,
  ) {
    const { runtime, service, defaults, metrics } = deps;
    const policy = source ?? defaultPolicy(service);
    const named = policy.loadBalancer.algorithm;
    // A parsed policy always holds an algorithm; the default one stands for "not named", so the sidecar's --lb applies.
    const kind: BalancerKind = source !== undefined && named !== POLICY_DEFAULTS.loadBalancer.algorithm ? named : defaults.balancer;
    const bySubset = new Map<string, SubsetTarget>();
    const targetFor = (subset: SubsetSelector): SubsetTarget => {
      const key = subsetKey(subset);
      let target = bySubset.get(key);
      if (target === undefined) {
        target = new SubsetTarget(subset, createBalancer(kind, runtime.rng, service, { clock: runtime.clock }));
        bySubset.set(key, target);
        this.targets.push(target);
      }
      return target;
    };
    this.all = targetFor({});
    const attempts = source === undefined ? defaults.maxAttempts : policy.retry.attempts;
    this.conditions = new RetryConditions({ attempts, on: policy.retry.on });
    this.routes =
      policy.routes.length === 0
        ? null
        : new RouteTable<CompiledRoute>(
            policy.routes.map((route) => {
              const fault = route.fault === undefined ? null : new FaultInjector(route.fault, runtime.rng);
              return {
                match: route.match,
                split: new TrafficSplit(route.backends.map((backend) => ({ weight: backend.weight, target: targetFor(backend.subset) }))),
                fault: fault !== null && fault.active ? fault : null,
                conditions: route.retry.nonIdempotent ? new RetryConditions({ attempts, on: policy.retry.on, nonIdempotent: true }) : this.conditions,
              };
            }),
          );
    this.budget = new RetryBudget(policy.retry.budget, runtime.clock);
    this.backoff = policy.retry.backoff;
    const cb = policy.circuitBreaker;
    this.limits = new BreakerLimits({ maxConnections: cb.maxConnections, maxPendingRequests: cb.maxPendingRequests }, service);
    this.breaker =
      cb.consecutiveFailures > 0
        ? new ConsecutiveBreaker({ consecutiveFailures: cb.consecutiveFailures, openMs: cb.openMs, onStateChange: (state) => metrics.circuitState(BREAKER_STATE_VALUE[state]) }, runtime.clock, service)
        : null;
    metrics.circuitState(0);
    const od = policy.outlierDetection;
    this.outlier =
      od === undefined
        ? null
        : new OutlierDetector(
            {
              ...od,
              onChange: (id, ejected) => {
                if (ejected) metrics.outlierEjected();
                runtime.logger.info({ upstream: service, endpoint: id, ejected }, ejected ? 'endpoint ejected' : 'endpoint returned from ejection');
                this.rebuild();
              },
            },
            runtime.clock,
          );
    metrics.endpointsEjected(0);
    const hc = policy.healthCheck;
    this.health =
      hc === undefined
        ? null
        : new EndpointHealthChecker(hc, {
            clock: runtime.clock,
            rng: runtime.rng,
            onChange: (id, status, reason) => {
              runtime.logger.info({ upstream: service, endpoint: id, status, reason }, 'endpoint health check changed');
              metrics.endpointHealth(this.health?.counts() ?? { unknown: 0, healthy: 0, unhealthy: 0 });
              this.rebuild();
            },
          });
    this.requestMs = source === undefined ? undefined : policy.timeout.requestMs;
    this.perTryMs = source === undefined ? defaults.responseTimeoutMs : policy.timeout.perTryMs;
    this.hashOn = policy.loadBalancer.hashOn;
    for (const target of this.targets) target.dispatch = deps.concrete(target, this);
  }

  /** The passing endpoints of the service changed (or this policy is new): every subset's picker is rebuilt. */
  update(passing: readonly Endpoint[]): void {
    this.endpoints = passing;
    this.outlier?.update(passing);
    if (this.health !== null) {
      this.health.sync(passing);
      this.deps.metrics.endpointHealth(this.health.counts());
    }
    this.rebuild();
  }

  /** The request's affinity key, as the policy's hashOn names it; undefined without one. */
  hashKey(req: MeshRequest): string | undefined {
    const hashOn = this.hashOn;
    if (hashOn === undefined) return undefined;
    if (hashOn.header !== undefined) {
      const value = req.downstream.headerMap()[hashOn.header];
      return typeof value === 'string' ? value : value?.[0];
    }
    if (hashOn.cookie !== undefined) {
      const cookie = req.downstream.headerMap()['cookie'];
      return cookieValue(typeof cookie === 'string' ? cookie : cookie?.join('; '), hashOn.cookie);
    }
    return req.downstream.remoteAddress;
  }

  /** Stops the active checks of a policy that was replaced; requests still holding it finish normally. */
  stop(): void {
    this.health?.stop();
  }

  private rebuild(): void {
    // The detector and the checker may report a change while their eligible() runs: rebuild again, a bounded number of times.
    if (this.rebuilding) {
      this.dirty = true;
      return;
    }
    this.rebuilding = true;
    try {
      for (let round = 0; round < 4; round++) {
        this.dirty = false;
        let eligible = this.endpoints;
        if (this.health !== null) {
          const healthy = this.health.eligible(eligible);
          // Every endpoint failing its check is more likely a broken check than a dead service: keep sending.
          if (healthy.length > 0) eligible = healthy;
        }
        if (this.outlier !== null) eligible = this.outlier.eligible(eligible);
        for (const target of this.targets) target.update(eligible);
        if (!this.dirty) break;
      }
      if (this.outlier !== null) this.deps.metrics.endpointsEjected(this.outlier.ejectedCount());
    } finally {
      this.rebuilding = false;
    }
  }
}

/** One key per distinct selector, whatever the order of its entries. */
function subsetKey(subset: SubsetSelector): string {
  return Object.keys(subset)
    .sort()
    .map((key) => `${key}\u0000${subset[key]}`)
    .join('\u0001');
}

/** The value of one cookie in a Cookie header (`a=1; b=2`); undefined when absent. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end < 0) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq > start && eq < end && header.slice(start, eq).trim() === name) return header.slice(eq + 1, end).trim();
    start = end + 1;
  }
  return undefined;
}
