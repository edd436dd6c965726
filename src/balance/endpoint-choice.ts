// Balance: building blocks shared by pickers: prebuilt picks and an exclusion-aware scan.
import type { Outcome } from '../core/index.js';
import type { Endpoint } from '../model/index.js';
import type { Pick } from './balancer.js';

function noop(_outcome: Outcome): void {}

/** Pre-built successful picks, one per endpoint, so a pick allocates nothing. */
export function fixedPicks(endpoints: readonly Endpoint[]): Pick[] {
  return endpoints.map((endpoint) => ({ ok: true as const, endpoint, done: noop }));
}

/** Index of the first endpoint at or after `start` (cyclically) that is not excluded; `start` when all are. */
export function firstAllowed(endpoints: readonly Endpoint[], start: number, exclude: ReadonlySet<string> | undefined): number {
  if (exclude === undefined || exclude.size === 0) return start;
  const n = endpoints.length;
  for (let i = 0; i < n; i++) {
    const index = (start + i) % n;
    if (!exclude.has(endpoints[index]!.id)) return index;
  }
  return start;
}
