// Rate limit: a service's rateLimits compiled once — the first rule matching the path picks a bucket, shared or per source (capped, least recently used evicted).
import type { Clock } from '../../core/index.js';
import type { RateLimitPolicy } from '../../model/index.js';
import { TokenBucket } from './token-bucket.js';

/** Per-source buckets one rule keeps before it forgets the least recently seen source. */
export const MAX_SOURCE_BUCKETS = 4096;

export interface RateLimiter {
  /** 0 when the request may go on; else the milliseconds until the bucket has a token. `sourceKey` names the caller's own bucket. */
  admit(path: string, sourceKey: string): number;
}

export const NO_LIMIT: RateLimiter = { admit: () => 0 };

class LimitRule {
  private readonly perMs: number;
  private readonly shared: TokenBucket | null;
  /** Insertion order is recency: a hit moves its source to the end. */
  private readonly bySource: Map<string, TokenBucket> | null;

  constructor(
    readonly pathPrefix: string,
    private readonly limit: RateLimitPolicy,
    private readonly clock: Clock,
    private readonly maxSources: number,
  ) {
    this.perMs = limit.requestsPerSecond / 1000;
    this.shared = limit.perSource ? null : new TokenBucket(this.perMs, limit.burst, clock.now());
    this.bySource = limit.perSource ? new Map() : null;
  }

  take(sourceKey: string): number {
    const now = this.clock.now();
    if (this.shared !== null) return this.shared.take(now);
    const buckets = this.bySource!;
    let bucket = buckets.get(sourceKey);
    if (bucket === undefined) {
      if (buckets.size >= this.maxSources) buckets.delete(buckets.keys().next().value!);
      bucket = new TokenBucket(this.perMs, this.limit.burst, now);
    } else {
      buckets.delete(sourceKey);
    }
    buckets.set(sourceKey, bucket);
    return bucket.take(now);
  }
}

export function compileRateLimits(limits: readonly RateLimitPolicy[] | undefined, clock: Clock, maxSources: number = MAX_SOURCE_BUCKETS): RateLimiter {
  if (limits === undefined || limits.length === 0) return NO_LIMIT;
  const rules = limits.map((limit) => new LimitRule(limit.match.pathPrefix, limit, clock, maxSources));
  return {
    admit(path, sourceKey) {
      for (const rule of rules) if (path.startsWith(rule.pathPrefix)) return rule.take(sourceKey);
      return 0;
    },
  };
}
