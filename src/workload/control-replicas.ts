// Workload: the list of control-plane replicas a client (REST or watch) may talk to, and which one it currently sticks to.
import { ValidationError } from '../core/index.js';

/** A control-plane URL list: one URL, a comma-separated string of them, or an array. */
export type ControlUrls = string | readonly string[];

/**
 * Splits and validates control-plane base URLs; every entry must be an http(s) URL.
 * Throws a ValidationError on field "control" naming the offending entry.
 */
export function parseControlUrls(value: ControlUrls): URL[] {
  const entries = (typeof value === 'string' ? value.split(',') : value.flatMap((v) => v.split(','))).map((v) => v.trim());
  if (entries.length === 0 || entries.every((e) => e === '')) {
    throw new ValidationError('control', 'expected at least one http(s) URL such as http://127.0.0.1:8500');
  }
  const urls: URL[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    if (entry === '') throw new ValidationError('control', `expected a comma-separated list of http(s) URLs, got an empty entry in "${String(value)}"`);
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new ValidationError('control', `expected an http(s) URL, got "${entry}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValidationError('control', `expected an http(s) URL, got "${entry}"`);
    // The same replica listed twice would only double the attempts against it.
    if (seen.has(url.href)) continue;
    seen.add(url.href);
    urls.push(url);
  }
  return urls;
}

/**
 * The replicas in the order given, and the one that last answered. Callers start at current() and walk
 * the others once; the one that answers becomes current, so a healthy replica is not abandoned for the first in the list.
 */
export class ControlReplicas {
  readonly bases: readonly URL[];
  readonly origins: readonly string[];
  private index = 0;

  constructor(value: ControlUrls) {
    this.bases = parseControlUrls(value);
    this.origins = this.bases.map((b) => b.origin);
  }

  get size(): number {
    return this.bases.length;
  }

  currentIndex(): number {
    return this.index;
  }

  current(): URL {
    return this.bases[this.index]!;
  }

  /** The i-th replica counting from the current one, wrapping around. */
  at(offset: number): { index: number; base: URL; origin: string } {
    const index = (this.index + offset) % this.bases.length;
    return { index, base: this.bases[index]!, origin: this.origins[index]! };
  }

  use(index: number): void {
    this.index = index % this.bases.length;
  }

  /** Moves to the next replica in the list; returns its index. */
  advance(): number {
    this.index = (this.index + 1) % this.bases.length;
    return this.index;
  }
}
