// Balance: least-connections over the healthy endpoints of one service; in-flight counts survive picker updates.
import { NoEndpointsError, type CallContext, type Outcome } from '../core/index.js';
import type { Endpoint } from '../model/index.js';
import type { Balancer, Pick, Picker } from './balancer.js';

/** In-flight requests of one endpoint, kept by the balancer across updates. */
interface Load {
  inFlight: number;
}

/** One outstanding pick: done() gives its slot back exactly once. */
class LeasedPick {
  readonly ok = true as const;
  private load: Load | null;
  constructor(
    readonly endpoint: Endpoint,
    load: Load,
  ) {
    this.load = load;
    load.inFlight++;
  }

  done(_outcome: Outcome): void {
    const load = this.load;
    if (load === null) return;
    this.load = null;
    load.inFlight--;
  }
}

interface Rotation {
  next: number;
}

class LeastConnectionsPicker implements Picker {
  private readonly empty: Pick;
  constructor(
    private readonly endpoints: readonly Endpoint[],
    private readonly loads: readonly Load[],
    private readonly rotation: Rotation,
    service: string,
  ) {
    this.empty = { ok: false, error: new NoEndpointsError(service) };
  }

  pick(ctx: CallContext): Pick {
    const n = this.endpoints.length;
    if (n === 0) return this.empty;
    const exclude = ctx.exclude !== undefined && ctx.exclude.size > 0 ? ctx.exclude : undefined;
    const start = this.rotation.next % n;
    let best = -1;
    let bestLoad = Infinity;
    let fallback = -1;
    let fallbackLoad = Infinity;
    for (let i = 0; i < n; i++) {
      const index = (start + i) % n;
      const load = this.loads[index]!.inFlight;
      if (exclude !== undefined && exclude.has(this.endpoints[index]!.id)) {
        if (load < fallbackLoad) {
          fallback = index;
          fallbackLoad = load;
        }
      } else if (load < bestLoad) {
        best = index;
        bestLoad = load;
      }
    }
    if (best < 0) best = fallback;
    this.rotation.next = (best + 1) % n;
    return new LeasedPick(this.endpoints[best]!, this.loads[best]!);
  }
}

/** Ties go round-robin (a rotating scan start), so an idle service spreads exactly evenly. Weight is ignored here. */
export class LeastConnectionsBalancer implements Balancer {
  private loads = new Map<string, Load>();
  private readonly rotation: Rotation = { next: 0 };
  constructor(private readonly service = '') {}

  update(endpoints: readonly Endpoint[]): Picker {
    // Endpoints that left drop their counter; picks still outstanding on them decrement a detached one.
    const next = new Map<string, Load>();
    const loads: Load[] = [];
    for (const endpoint of endpoints) {
      const load = this.loads.get(endpoint.id) ?? { inFlight: 0 };
      next.set(endpoint.id, load);
      loads.push(load);
    }
    this.loads = next;
    return new LeastConnectionsPicker(endpoints, loads, this.rotation, endpoints[0]?.service ?? this.service);
  }
}
