// Consul API: blocking queries — ?index=N&wait=D holds a list reply until the registry moves past N, with Consul's limits and resets.
import { ValidationError, type Rng } from '../../core/index.js';
import type { Registry } from '../../registry/index.js';
import { parseDuration } from './duration.js';

export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;

export interface BlockingQuery {
  /** Absent or 0: answer at once. */
  readonly index: number;
  readonly waitMs: number;
}

export function parseBlockingQuery(url: URL): BlockingQuery {
  const rawIndex = url.searchParams.get('index');
  let index = 0;
  if (rawIndex !== null && rawIndex !== '') {
    if (!/^\d{1,16}$/.test(rawIndex)) throw new ValidationError('index', `"${rawIndex}" is not a non-negative integer`);
    index = Number(rawIndex);
  }
  const rawWait = url.searchParams.get('wait');
  const waitMs = rawWait === null || rawWait === '' ? DEFAULT_WAIT_MS : Math.min(MAX_WAIT_MS, parseDuration(rawWait, 'wait'));
  return { index, waitMs };
}

/**
 * The index Consul clients see: the registry version plus one. Never 0 (the npm client treats 0 as an error), and
 * unlike max(1, version) it also moves on the first write to an empty registry (version 0 → 1), which a watcher must see.
 */
export function consulIndex(registry: Registry): number {
  return registry.version() + 1;
}

/**
 * Resolves when the reply may go out: at once for index 0 or an index that is not the current one (moved on,
 * or from a registry that was reset), otherwise on the first change or after the wait plus Consul's jitter of up to wait/16.
 */
export function waitForChange(registry: Registry, query: BlockingQuery, rng: Rng, signals: readonly AbortSignal[]): Promise<void> {
  if (query.index === 0 || query.index !== consulIndex(registry) || query.waitMs <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      subscription.unsubscribe();
      for (const signal of signals) signal.removeEventListener('abort', done);
      resolve();
    };
    const subscription = registry.watch(registry.version(), (event) => {
      if (event.type !== 'ping' && consulIndex(registry) > query.index) done();
    });
    const timer = setTimeout(done, query.waitMs + Math.floor(rng.next() * (query.waitMs / 16)));
    for (const signal of signals) {
      if (signal.aborted) return done();
      signal.addEventListener('abort', done, { once: true });
    }
  });
}
