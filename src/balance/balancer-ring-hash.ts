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

/**
 * The sorted ring, each point one number: the high bits are the position (from the hash), the low
 * `rankBits` the owner's rank by id. Sorting plain numbers runs in native code, and equal positions
 * fall in id order, so the ring never depends on the order of the update's list.
 */
interface Ring {
  readonly points: Float64Array;
  /** 2^rankBits: divide a point by it for the position, take it modulo for the owner. */
  readonly span: number;
}

/**
 * A point's position depends only on its endpoint's id and its ordinal, never on the other endpoints,
 * so an update moves exactly the keys whose nearest point came or went. `endpoints` is sorted by id.
 */
function buildRing(endpoints: readonly Endpoint[], options: RingHashOptions): Ring {
  const span = 2 ** rankBits(endpoints.length);
  let wanted = 0;
  for (const endpoint of endpoints) wanted += Math.round(options.virtualNodes * endpoint.weight);
  const scale = wanted > options.maxRingSize ? options.maxRingSize / wanted : 1;
  const counts = endpoints.map((endpoint) => Math.max(1, Math.round(options.virtualNodes * endpoint.weight * scale)));
  const points = new Float64Array(counts.reduce((sum, count) => sum + count, 0));
  let at = 0;
  endpoints.forEach((endpoint, rank) => {
    for (let k = 0; k < counts[rank]!; k++) points[at++] = ringPosition(hash53(`${endpoint.id}#${k}`), span) + rank;
  });
  points.sort();
  return { points, span };
}

/** 16 bits of rank cover any realistic service; beyond that the position gives up a few more bits. */
function rankBits(endpoints: number): number {
  return endpoints <= 0x10000 ? 16 : 32 - Math.clz32(endpoints - 1);
}

/** A 53-bit hash with its low bits cleared to make room for a rank; still below 2^53, so exact. */
function ringPosition(hash: number, span: number): number {
  return Math.floor(hash / span) * span;
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
    const { points, span } = this.ring;
    const start = this.successor(ringPosition(hash53(ctx.hashKey), span));
    const exclude = ctx.exclude;
    if (exclude === undefined || exclude.size === 0) return this.picks[points[start]! % span]!;
    // Walking on clockwise gives a retry the endpoint this key would move to if the tried one left.
    const size = points.length;
    for (let step = 0; step < size; step++) {
      const owner = points[(start + step) % size]! % span;
      if (!exclude.has(this.endpoints[owner]!.id)) return this.picks[owner]!;
    }
    return this.picks[points[start]! % span]!;
  }

  /** Index of the first point at or after `position` (a point's rank bits never push it below), wrapping to the start. */
  private successor(position: number): number {
    const points = this.ring.points;
    let low = 0;
    let high = points.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (points[mid]! < position) low = mid + 1;
      else high = mid;
    }
    return low === points.length ? 0 : low;
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
    // Sorted by id, so that a point's rank bits order equal positions the same way whatever the list's order.
    const weighted = endpoints.filter((endpoint) => endpoint.weight > 0).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return new RingHashPicker(weighted, this.rng, this.options, endpoints[0]?.service ?? this.service);
  }
}
