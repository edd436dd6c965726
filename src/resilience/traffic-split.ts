// Resilience: traffic split — a weighted choice among a route's backends, and the endpoints a backend's subset selects.
import type { Rng } from '../core/index.js';

/** Endpoint meta that a backend requires, e.g. { version: 'v2' }; empty or absent selects every endpoint. */
export type SubsetSelector = Readonly<Record<string, string>>;

export interface WeightedBackend {
  readonly weight: number;
  readonly subset?: SubsetSelector;
}

/**
 * Built once per route: cumulative weights, then one Rng draw and a scan per request (routes have a handful of
 * backends). Weight-0 backends are never chosen; the split is exact in expectation.
 */
export class TrafficSplit<B extends WeightedBackend> {
  private readonly backends: readonly B[];
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(backends: readonly B[]) {
    this.backends = backends;
    this.cumulative = new Float64Array(backends.length);
    let sum = 0;
    backends.forEach((backend, i) => {
      if (!(backend.weight >= 0)) throw new RangeError(`backend ${i}: weight must be a number ≥ 0`);
      sum += backend.weight;
      this.cumulative[i] = sum;
    });
    this.total = sum;
  }

  /** The backend for one request, or undefined when every weight is 0. */
  choose(rng: Rng): B | undefined {
    if (this.total <= 0) return undefined;
    if (this.backends.length === 1) return this.backends[0];
    const point = rng.next() * this.total;
    for (let i = 0; i < this.cumulative.length; i++) {
      if (point < this.cumulative[i]!) return this.backends[i];
    }
    return this.backends[this.backends.length - 1];
  }
}

export function matchesSubset(meta: Readonly<Record<string, string>>, subset: SubsetSelector | undefined): boolean {
  if (subset === undefined) return true;
  for (const key in subset) {
    if (meta[key] !== subset[key]) return false;
  }
  return true;
}

/** The endpoints a subset selects; the input itself when the selector is empty. Meant per snapshot, not per request. */
export function subsetEndpoints<E extends { readonly meta: Readonly<Record<string, string>> }>(endpoints: readonly E[], subset: SubsetSelector | undefined): readonly E[] {
  if (subset === undefined || Object.keys(subset).length === 0) return endpoints;
  return endpoints.filter((endpoint) => matchesSubset(endpoint.meta, subset));
}
