// Balance: consistent hashing of ctx.hashKey onto a ring of virtual nodes, built once per update, looked up by binary search.
import { NoEndpointsError, randomIndex, type CallContext, type Rng } from '../core/index.js';
import type { Endpoint } from '../model/index.js';
import type { Balancer, Pick, Picker } from './balancer.js';
import { firstAllowed, fixedPicks } from './endpoint-choice.js';
import { hash53 } from './hash.js';

export interface RingHashOptions {
  /** Points on the ring per unit of Endpoint.weight; more points give a more even share, at memory cost. */
  readonly virtualNodes: number;
  /** Upper bound on points in the whole ring; large weights are scaled down to fit (each endpoint keeps at least one). */
  readonly maxRingSize: number;
}

export const RING_HASH_DEFAULTS: RingHashOptions = { virtualNodes: 100, maxRingSize: 65_536 };

/** The sorted ring: positions ascending, and the endpoint index owning each position. */
interface Ring {
  readonly positions: Float64Array;
  readonly owners: Uint32Array;
}

/**
 * A point's position depends only on its endpoint's id and its ordinal, never on the other endpoints,
 * so an update moves exactly the keys whose nearest point came or went.
 */
function buildRing(endpoints: readonly Endpoint[], options: RingHashOptions): Ring {
  let wanted = 0;
  for (const endpoint of endpoints) wanted += Math.round(options.virtualNodes * endpoint.weight);
  const scale = wanted > options.maxRingSize ? options.maxRingSize / wanted : 1;
  const hashes: number[] = [];
  const owners: number[] = [];
  endpoints.forEach((endpoint, index) => {
    const points = Math.max(1, Math.round(options.virtualNodes * endpoint.weight * scale));
    for (let k = 0; k < points; k++) {
      hashes.push(hash53(`${endpoint.id}#${k}`));
      owners.push(index);
    }
  });
  // Equal positions are ordered by endpoint id, so the ring does not depend on the order of the update's list.
  const order = hashes.map((_, i) => i);
  order.sort((x, y) => hashes[x]! - hashes[y]! || compareIds(endpoints[owners[x]!]!.id, endpoints[owners[y]!]!.id));
  const ring: Ring = { positions: new Float64Array(order.length), owners: new Uint32Array(order.length) };
  order.forEach((from, to) => {
    ring.positions[to] = hashes[from]!;
    ring.owners[to] = owners[from]!;
  });
  return ring;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

class RingHashPicker implements Picker {
  private readonly picks: Pick[];
  private readonly ring: Ring;
  private readonly empty: Pick;
  constructor(
    private readonly endpoints: readonly Endpoint[],
    private readonly rng: Rng,
    options: RingHashOptions,
    service: string,
  ) {
    this.picks = fixedPicks(endpoints);
    this.ring = buildRing(endpoints, options);
    this.empty = { ok: false, error: new NoEndpointsError(service) };
  }

  pick(ctx: CallContext): Pick {
    const n = this.endpoints.length;
    if (n === 0) return this.empty;
    if (ctx.hashKey === undefined) {
      // Without a key there is nothing to stick to: spread like the random balancer.
      return this.picks[firstAllowed(this.endpoints, randomIndex(this.rng, n), ctx.exclude)]!;
    }
    const { positions, owners } = this.ring;
    const start = this.successor(hash53(ctx.hashKey));
    const exclude = ctx.exclude;
    if (exclude === undefined || exclude.size === 0) return this.picks[owners[start]!]!;
    // Walking on clockwise gives a retry the endpoint this key would move to if the tried one left.
    const size = positions.length;
    for (let step = 0; step < size; step++) {
      const owner = owners[(start + step) % size]!;
      if (!exclude.has(this.endpoints[owner]!.id)) return this.picks[owner]!;
    }
    return this.picks[owners[start]!]!;
  }

  /** Index of the first point at or after `position`, wrapping to the ring's start. */
  private successor(position: number): number {
    const positions = this.ring.positions;
    let low = 0;
    let high = positions.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (positions[mid]! < position) low = mid + 1;
      else high = mid;
    }
    return low === positions.length ? 0 : low;
  }
}

/**
 * Sticky by key: the same ctx.hashKey reaches the same endpoint while it stays; removing one of n
 * endpoints moves only its own keys (≈1/n), adding one takes ≈1/(n+1) of the keys. Endpoints of
 * weight 0 are left off the ring; when every endpoint weighs 0 the service has no endpoints.
 */
export class RingHashBalancer implements Balancer {
  private readonly options: RingHashOptions;
  constructor(
    private readonly rng: Rng,
    private readonly service = '',
    options: Partial<RingHashOptions> = {},
  ) {
    this.options = { ...RING_HASH_DEFAULTS, ...options };
  }

  update(endpoints: readonly Endpoint[]): Picker {
    const weighted = endpoints.filter((endpoint) => endpoint.weight > 0);
    return new RingHashPicker(weighted, this.rng, this.options, endpoints[0]?.service ?? this.service);
  }
}
