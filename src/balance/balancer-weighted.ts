// Balance: smooth weighted round-robin (nginx's algorithm) by Endpoint.weight; current weights survive picker updates.
import { NoEndpointsError, type CallContext } from '../core/index.js';
import type { Endpoint } from '../model/index.js';
import type { Balancer, Pick, Picker } from './balancer.js';
import { fixedPicks } from './endpoint-choice.js';

/** The running "current weight" of one endpoint, kept by the balancer across updates. */
interface Current {
  value: number;
}

class WeightedPicker implements Picker {
  private readonly picks: Pick[];
  private readonly total: number;
  private readonly empty: Pick;
  constructor(
    private readonly endpoints: readonly Endpoint[],
    private readonly currents: readonly Current[],
    service: string,
  ) {
    this.picks = fixedPicks(endpoints);
    let total = 0;
    for (const endpoint of endpoints) total += endpoint.weight;
    this.total = total;
    this.empty = { ok: false, error: new NoEndpointsError(service) };
  }

  /**
   * Every endpoint gains its weight, the largest current wins and pays back the total: over any run of
   * `total` picks each endpoint is chosen exactly `weight` times, spread out rather than in bursts.
   */
  pick(ctx: CallContext): Pick {
    const n = this.endpoints.length;
    if (n === 0) return this.empty;
    let exclude = ctx.exclude !== undefined && ctx.exclude.size > 0 ? ctx.exclude : undefined;
    let total = this.total;
    if (exclude !== undefined) {
      // Tried endpoints sit this round out, so a retry does not distort the others' proportions.
      total = 0;
      for (let i = 0; i < n; i++) if (!exclude.has(this.endpoints[i]!.id)) total += this.endpoints[i]!.weight;
      // Every endpoint tried: any of them is better than failing the retry outright.
      if (total === 0) {
        exclude = undefined;
        total = this.total;
      }
    }
    let best = -1;
    let bestValue = -Infinity;
    for (let i = 0; i < n; i++) {
      if (exclude !== undefined && exclude.has(this.endpoints[i]!.id)) continue;
      const current = this.currents[i]!;
      current.value += this.endpoints[i]!.weight;
      if (current.value > bestValue) {
        best = i;
        bestValue = current.value;
      }
    }
    this.currents[best]!.value -= total;
    return this.picks[best]!;
  }
}

/**
 * Deterministic and exact: weights 5, 1, 1 give a a b a c a a. Endpoints of weight 0 never receive
 * traffic; when every endpoint weighs 0 the service has no endpoints.
 */
export class WeightedBalancer implements Balancer {
  private currents = new Map<string, Current>();
  constructor(private readonly service = '') {}

  update(endpoints: readonly Endpoint[]): Picker {
    const next = new Map<string, Current>();
    const kept: Endpoint[] = [];
    const currents: Current[] = [];
    for (const endpoint of endpoints) {
      if (!(endpoint.weight > 0)) continue;
      const current = this.currents.get(endpoint.id) ?? { value: 0 };
      next.set(endpoint.id, current);
      kept.push(endpoint);
      currents.push(current);
    }
    this.currents = next;
    return new WeightedPicker(kept, currents, endpoints[0]?.service ?? this.service);
  }
}
