// Bench load: what one load run of any protocol reports — wrk's figures, and the mean and maximum h2load and the echo load also give.
import type { WrkResult } from './wrk-output.js';

/**
 * `requests` are requests (wrk, h2load) or round trips (the tcp echo load); `non2xx` counts replies outside
 * 2xx/3xx, or echoes that came back different. `meanMs` and `maxMs` are absent from wrk's runs.
 */
export interface LoadResult extends WrkResult {
  meanMs?: number;
  maxMs?: number;
}
