// Balance: uniform random choice over the healthy endpoints of one service, driven by the runtime's Rng.
import { NoEndpointsError, randomIndex, type CallContext, type Rng } from '../core/index.js';
import type { Endpoint } from '../model/index.js';
import type { Balancer, Pick, Picker } from './balancer.js';
import { firstAllowed, fixedPicks } from './endpoint-choice.js';

class RandomPicker implements Picker {
  private readonly picks: Pick[];
  private readonly empty: Pick;
  constructor(
    private readonly endpoints: readonly Endpoint[],
    private readonly rng: Rng,
    service: string,
  ) {
    this.picks = fixedPicks(endpoints);
    this.empty = { ok: false, error: new NoEndpointsError(service) };
  }

  pick(ctx: CallContext): Pick {
    const n = this.endpoints.length;
    if (n === 0) return this.empty;
    // Scanning on from an excluded draw keeps the choice among the allowed ones uniform enough for retries.
    return this.picks[firstAllowed(this.endpoints, randomIndex(this.rng, n), ctx.exclude)]!;
  }
}

/** Weight is ignored here: weighted balancing is a separate algorithm. */
export class RandomBalancer implements Balancer {
  constructor(
    private readonly rng: Rng,
    private readonly service = '',
  ) {}

  update(endpoints: readonly Endpoint[]): Picker {
    return new RandomPicker(endpoints, this.rng, endpoints[0]?.service ?? this.service);
  }
}
