// Security/JWT: a JWKS fetched from a URL — cached, refreshed in the background, re-fetched (rate-limited) for unknown key ids, and kept when the endpoint is down.
import { createLocalJWKSet, type CompactJWSHeaderParameters, type FlattenedJWSInput, type JWTVerifyGetKey } from 'jose';
import { systemClock, type Clock } from '../../core/index.js';
import { refreshDelayMs } from './cache-control.js';
import { fetchJwks, type JwksFetchLimits } from './jwks-fetch.js';
import { JwksUnavailableError, type JwtKeySource } from './key-source.js';

export interface RemoteJwksOptions extends JwksFetchLimits {
  readonly url: string;
  /** Refresh period when the reply names no max-age. */
  readonly refreshMs: number;
  readonly minRefreshMs: number;
  readonly maxRefreshMs: number;
  /** At most one fetch per this period on behalf of tokens whose `kid` the cached set lacks. */
  readonly unknownKidCooldownMs: number;
  /** After a failed fetch: when to try again in the background, and how long requests wait before causing another try. */
  readonly retryMs: number;
  readonly clock?: Clock;
  readonly onEvent?: (event: JwksEvent) => void;
}

/** What a key set did, for logs and metrics; never carries key material. */
export type JwksEvent =
  | { readonly type: 'fetched'; readonly url: string; readonly keys: number; readonly nextRefreshMs: number; readonly trigger: JwksFetchTrigger }
  | { readonly type: 'fetch-failed'; readonly url: string; readonly error: string; readonly servingCachedKeys: boolean; readonly trigger: JwksFetchTrigger };
export type JwksFetchTrigger = 'start' | 'refresh' | 'unknown-kid' | 'no-keys';

interface CachedSet {
  readonly resolve: JWTVerifyGetKey;
  readonly kids: ReadonlySet<string>;
}

/**
 * jose's createRemoteJWKSet fails verification once its cache is older than cacheMaxAge and the endpoint does not
 * answer; here the last good set keeps verifying until a fetch replaces it, so an issuer outage is not a mesh outage.
 */
export class RemoteJwks implements JwtKeySource {
  private readonly clock: Clock;
  private cached: CachedSet | undefined;
  private inflight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastUnknownKidFetchAt = -Infinity;
  private lastFailureAt = -Infinity;
  private lastError = 'not fetched yet';
  private closed = false;
  private fetchCount = 0;

  constructor(private readonly options: RemoteJwksOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Fetches now, in the background, so that the first request finds keys. */
  start(): void {
    void this.refresh('start');
  }

  /** Fetches started so far (successful or not). */
  get fetches(): number {
    return this.fetchCount;
  }

  /** The key ids of the set in use. */
  get keyIds(): readonly string[] {
    return [...(this.cached?.kids ?? [])];
  }

  readonly resolve: JWTVerifyGetKey = async (header: CompactJWSHeaderParameters, token: FlattenedJWSInput) => {
    if (!this.cached) await this.fetchWithoutKeys();
    const kid = header.kid;
    if (kid !== undefined && this.cached && !this.cached.kids.has(kid)) await this.fetchForUnknownKid();
    const cached = this.cached;
    if (!cached) throw new JwksUnavailableError(this.lastError);
    return cached.resolve(header, token);
  };

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async fetchWithoutKeys(): Promise<void> {
    if (this.inflight) return this.inflight;
    // Requests must not turn an unreachable endpoint into a fetch each; the background retry keeps trying.
    if (this.clock.now() - this.lastFailureAt < this.options.retryMs) return;
    return this.refresh('no-keys');
  }

  private async fetchForUnknownKid(): Promise<void> {
    if (this.inflight) return this.inflight;
    const now = this.clock.now();
    if (now - this.lastUnknownKidFetchAt < this.options.unknownKidCooldownMs) return;
    this.lastUnknownKidFetchAt = now;
    return this.refresh('unknown-kid');
  }

  /** One fetch at a time; never throws: a failure keeps the cached set and schedules a retry. */
  private refresh(trigger: JwksFetchTrigger): Promise<void> {
    if (this.inflight) return this.inflight;
    this.inflight = this.fetchOnce(trigger).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchOnce(trigger: JwksFetchTrigger): Promise<void> {
    if (this.closed) return;
    this.fetchCount += 1;
    const { url } = this.options;
    try {
      const fetched = await fetchJwks(url, this.options);
      const kids = new Set<string>();
      for (const key of fetched.jwks.keys) if (typeof key.kid === 'string') kids.add(key.kid);
      this.cached = { resolve: createLocalJWKSet(fetched.jwks), kids };
      const nextRefreshMs = refreshDelayMs(fetched.maxAgeSeconds, { defaultMs: this.options.refreshMs, minMs: this.options.minRefreshMs, maxMs: this.options.maxRefreshMs });
      this.schedule(nextRefreshMs);
      this.options.onEvent?.({ type: 'fetched', url, keys: fetched.jwks.keys.length, nextRefreshMs, trigger });
    } catch (error) {
      this.lastFailureAt = this.clock.now();
      this.lastError = error instanceof Error ? error.message : String(error);
      this.schedule(Math.min(this.options.retryMs, this.options.refreshMs));
      this.options.onEvent?.({ type: 'fetch-failed', url, error: this.lastError, servingCachedKeys: this.cached !== undefined, trigger });
    }
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh('refresh'), delayMs);
    this.timer.unref();
  }
}
