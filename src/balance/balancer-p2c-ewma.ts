// Balance: power of two choices over peak-EWMA latency × outstanding requests; estimates survive picker updates.
import { NoEndpointsError, randomIndex, type CallContext, type Clock, type Outcome, type Rng } from '../core/index.js';
import type { Endpoint } from '../model/index.js';
import type { Balancer, Pick, Picker } from './balancer.js';
import { PEAK_EWMA_DEFAULTS, PeakEwma, type PeakEwmaOptions } from './ewma.js';

/** One outstanding pick: done() records its latency and gives its slot back, exactly once. */
class MeasuredPick {
  readonly ok = true as const;
  private load: PeakEwma | null;
  constructor(
    readonly endpoint: Endpoint,
    load: PeakEwma,
    private readonly clock: Clock,
    private readonly failurePenaltyMs: number,
  ) {
    this.load = load;
    load.outstanding++;
  }

  done(outcome: Outcome): void {
    const load = this.load;
    if (load === null) return;
    this.load = null;
    load.outstanding--;
    const latency = outcome.kind === 'success' ? outcome.latencyMs : Math.max(outcome.latencyMs, this.failurePenaltyMs);
    load.observe(latency, this.clock.now());
  }
}

class P2cEwmaPicker implements Picker {
  private readonly empty: Pick;
  constructor(
    private readonly endpoints: readonly Endpoint[],
    private readonly loads: readonly PeakEwma[],
    private readonly rng: Rng,
    private readonly clock: Clock,
    private readonly failurePenaltyMs: number,
    service: string,
  ) {
    this.empty = { ok: false, error: new NoEndpointsError(service) };
  }

  pick(ctx: CallContext): Pick {
    const n = this.endpoints.length;
    if (n === 0) return this.empty;
    const exclude = ctx.exclude !== undefined && ctx.exclude.size > 0 ? ctx.exclude : undefined;
    const allowed = exclude === undefined ? n : this.countAllowed(exclude);
    // When every endpoint was tried, any of them is better than failing the retry outright.
    const among = allowed === 0 ? undefined : exclude;
    const size = allowed === 0 ? n : allowed;
    if (size === 1) return this.lease(this.nth(0, among));
    // Two distinct draws: the second skips over the first, so no pick compares an endpoint with itself.
    const first = randomIndex(this.rng, size);
    let second = randomIndex(this.rng, size - 1);
    if (second >= first) second++;
    const a = this.nth(first, among);
    const b = this.nth(second, among);
    const now = this.clock.now();
    return this.lease(this.loads[b]!.cost(now) < this.loads[a]!.cost(now) ? b : a);
  }

  private lease(index: number): Pick {
    return new MeasuredPick(this.endpoints[index]!, this.loads[index]!, this.clock, this.failurePenaltyMs);
  }

  private countAllowed(exclude: ReadonlySet<string>): number {
    let allowed = 0;
    for (const endpoint of this.endpoints) if (!exclude.has(endpoint.id)) allowed++;
    return allowed;
  }

  /** Index of the `ordinal`-th endpoint not excluded; a plain index when nothing is. */
  private nth(ordinal: number, exclude: ReadonlySet<string> | undefined): number {
    if (exclude === undefined) return ordinal;
    let seen = 0;
    for (let i = 0; i < this.endpoints.length; i++) {
      if (exclude.has(this.endpoints[i]!.id)) continue;
      if (seen === ordinal) return i;
      seen++;
    }
    return 0;
  }
}

/**
 * Linkerd's default: each pick draws two endpoints at random and takes the cheaper by peak-EWMA
 * latency × (outstanding + 1). Random pairs keep a herd of sidecars from all rushing the single best
 * endpoint; the cost keeps them off slow or busy ones. Weight is ignored here.
 */
export class P2cEwmaBalancer implements Balancer {
  private loads = new Map<string, PeakEwma>();
  private readonly options: PeakEwmaOptions;
  constructor(
    private readonly rng: Rng,
    private readonly clock: Clock,
    private readonly service = '',
    options: Partial<PeakEwmaOptions> = {},
  ) {
    this.options = { ...PEAK_EWMA_DEFAULTS, ...options };
  }

  update(endpoints: readonly Endpoint[]): Picker {
    // Endpoints that left drop their estimate; picks still outstanding on them update a detached one.
    const next = new Map<string, PeakEwma>();
    const loads: PeakEwma[] = [];
    const now = this.clock.now();
    for (const endpoint of endpoints) {
      const load = this.loads.get(endpoint.id) ?? new PeakEwma(this.options.decayMs, this.options.defaultRttMs, now);
      next.set(endpoint.id, load);
      loads.push(load);
    }
    this.loads = next;
    const service = endpoints[0]?.service ?? this.service;
    return new P2cEwmaPicker(endpoints, loads, this.rng, this.clock, this.options.failurePenaltyMs, service);
  }
}
