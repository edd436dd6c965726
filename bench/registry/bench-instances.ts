// Bench (registry): the deterministic population of the benchmark — instance i of service i mod S — and tagged writes.
import { SENT_KEY, SEQ_KEY } from './watch-line.js';

/** Longer than any run, so no instance lapses while the bench measures. */
export const BENCH_TTL_MS = 3_600_000;
export const ETCD_PREFIX = '/bench/instances/';

export const instanceId = (i: number): string => `inst-${i}`;
export const serviceName = (i: number, services: number): string => `svc-${i % services}`;

/** The registration body of instance i; `meta` carries the tag of a tagged write. */
export function registration(i: number, services: number, meta: Record<string, string> = {}): Record<string, unknown> {
  return {
    service: serviceName(i, services),
    host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 8080,
    ttlMs: BENCH_TTL_MS,
    meta: { zone: `z${i % 3}`, ...meta },
  };
}

/** The stored form weft publishes, used as the etcd anchor's value so both stores move the same bytes. */
export function storedInstance(i: number, services: number, meta: Record<string, string> = {}): string {
  return JSON.stringify({ id: instanceId(i), weight: 1, protocol: 'http1', tags: [], health: 'passing', ...registration(i, services, meta) });
}

export const etcdKey = (i: number, services: number): string => `${ETCD_PREFIX}${serviceName(i, services)}/${instanceId(i)}`;

/** Milliseconds on a clock shared by every process on the machine, with sub-millisecond precision. */
export const wallNow = (): number => performance.timeOrigin + performance.now();

/** The tag of write `seq`, stamped now; key order matters to scanWatchLine. */
export const tagMeta = (seq: number): Record<string, string> => ({ [SEQ_KEY]: String(seq), [SENT_KEY]: wallNow().toFixed(3) });

/** Tagged write `seq` targets an existing instance, a different one for each write while there are enough. */
export const taggedInstance = (seq: number, instances: number): number => (seq * 7919) % instances;
