// Core: randomness goes through an Rng so that tests are deterministic.

export interface Rng {
  /** A float in [0, 1). */
  next(): number;
}

export const mathRng: Rng = { next: () => Math.random() };

/** mulberry32: a small, fast, seeded generator, good enough for load balancing and jitter. */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  return {
    next(): number {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** An integer in [0, n). */
export function randomIndex(rng: Rng, n: number): number {
  return Math.floor(rng.next() * n);
}
