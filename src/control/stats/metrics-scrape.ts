// Control stats: fetches one sidecar's admin /metrics over HTTP, bounded in time and size.
import { request } from 'node:http';
import type { LookupFunction } from 'node:net';

const MAX_BYTES = 8 * 1024 * 1024;

export interface ScrapeAddress {
  readonly host: string;
  readonly port: number;
}

/** GET http://{host}:{port}/metrics; rejects with a short reason on any failure, timeout or non-200 answer, and never throws. */
export async function scrapeMetrics(address: ScrapeAddress, timeoutMs: number, lookup: LookupFunction): Promise<string> {
  // Made before the promise, so that anything Node refuses throws here and becomes this function's rejection.
  const req = request({ host: address.host, port: address.port, path: '/metrics', method: 'GET', timeout: timeoutMs, lookup, headers: { accept: 'text/plain' } });
  return new Promise((resolve, reject) => {
    req.once('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET /metrics answered ${res.statusCode ?? 0}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BYTES) res.destroy(new Error(`/metrics larger than ${MAX_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Runs `work` over `items` with at most `limit` at a time. */
export async function forEachBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
