// Balance: a fast, allocation-free 53-bit string hash for placing keys and virtual nodes on the ring.

/** 2^32 as a float, to join two 32-bit lanes into one safe integer. */
const LANE = 4294967296;

/**
 * Two independently seeded 32-bit multiply-xorshift lanes over the UTF-16 code units, each finished
 * with murmur3's avalanche; 21 bits of one lane and 32 of the other give a safe integer, so ring
 * positions compare as plain numbers (no BigInt) and collisions stay negligible for millions of points.
 */
export function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x9e3779b1);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  h1 ^= Math.imul(h2 ^ (h2 >>> 15), 0x735a2d97);
  h2 ^= Math.imul(h1 ^ (h1 >>> 15), 0xcaf649a9);
  h1 = fmix32(h1 ^ text.length);
  h2 = fmix32(h2 ^ Math.imul(text.length, 0x27d4eb2f));
  return (h2 & 0x1fffff) * LANE + (h1 >>> 0);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
