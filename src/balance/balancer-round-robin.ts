// Balance: round-robin over the healthy endpoints of one service, one cursor shared across picker updates.
import { NoEndpointsError, type CallContext } from '../core/index.js';
import type { Endpoint } from '../model/index.js';
import type { Balancer, Pick, Picker } from './balancer.js';
import { firstAllowed, fixedPicks } from './endpoint-choice.js';

interface Cursor {
  next: number;
}

class RoundRobinPicker implements Picker {
  private readonly picks: Pick[];
  private readonly empty: Pick;
  constructor(
    private readonly endpoints: readonly Endpoint[],
    private readonly cursor: Cursor,
    service: string,
  ) {
    this.picks = fixedPicks(endpoints);
    this.empty = { ok: false, error: new NoEndpointsError(service) };
  }

  pick(ctx: CallContext): Pick {
    const n = this.endpoints.length;
    if (n === 0) return this.empty;
    const index = firstAllowed(this.endpoints, this.cursor.next % n, ctx.exclude);
    this.cursor.next = (index + 1) % n;
    return this.picks[index]!;
  }
}

/** Weight is ignored here: weighted balancing is a separate algorithm. */
export class RoundRobinBalancer implements Balancer {
  private readonly cursor: Cursor = { next: 0 };
  constructor(private readonly service = '') {}

  update(endpoints: readonly Endpoint[]): Picker {
    return new RoundRobinPicker(endpoints, this.cursor, endpoints[0]?.service ?? this.service);
  }
}
