// Bench (registry): W NDJSON watch streams on a weft control plane, each resuming where it left off when cut off.
import { request, type ClientRequest } from 'node:http';
import { wallNow } from './bench-instances.js';
import type { LatencyMatrix } from './latency-matrix.js';
import { authHeaders } from './weft-credentials.js';
import { scanWatchLine, takeLines } from './watch-line.js';
import type { Target, WatchCounters } from './worker-messages.js';

type WeftTarget = Extract<Target, { kind: 'weft' }>;

/** Connections opened at once: the server's listen backlog (511 by default in Node) must not overflow. */
const CONNECT_BATCH = 100;
/** A watcher stuck in a cut-off loop gives up after this many reconnects, so a run always ends. */
const MAX_RECONNECTS = 200;

export interface WatcherSet {
  close(): void;
}

export async function openWeftWatchers(
  target: WeftTarget,
  count: number,
  since: number | undefined,
  matrix: LatencyMatrix,
  counters: WatchCounters,
): Promise<WatcherSet> {
  let closing = false;
  const requests = new Set<ClientRequest>();
  const headers = authHeaders(target);

  const watch = (index: number): Promise<void> => {
    let version = since;
    let store: string | undefined;
    let reconnects = 0;
    return new Promise<void>((connected, refused) => {
      const connect = (): void => {
        const query = version === undefined ? '' : `?since=${version}${store === undefined ? '' : `&store=${encodeURIComponent(store)}`}`;
        const req = request(`${target.url}/api/v1/watch${query}`, { agent: false, headers });
        requests.add(req);
        let buffer = '';
        const retry = (why: string): void => {
          requests.delete(req);
          if (closing) return;
          counters.errors += why === 'ended' ? 0 : 1;
          if (why !== 'ended') counters.firstError ??= why;
          if (++reconnects > MAX_RECONNECTS) return connected();
          counters.reconnects++;
          setTimeout(connect, Math.min(1_000, 50 * reconnects)).unref();
        };
        req.on('response', (res) => {
          const status = res.statusCode ?? 0;
          if (status === 401 || status === 403) {
            // A credential the server refuses stays refused: retrying would only delay the failure past every deadline.
            requests.delete(req);
            res.resume();
            return refused(new Error(`watch -> ${status}: the control plane refused the bench's credential`));
          }
          if (status !== 200) {
            res.resume();
            return retry(`watch -> ${status}`);
          }
          const header = res.headers['x-weft-store'];
          if (typeof header === 'string') store = header;
          connected();
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            const receivedAt = wallNow();
            counters.bytes += chunk.length;
            buffer = takeLines(buffer + chunk, (line) => {
              counters.lines++;
              const event = scanWatchLine(line);
              if (event.version >= 0) version = event.version;
              if (event.type === 'reset') counters.resets++;
              for (const tag of event.tags) matrix.record(index, tag, receivedAt);
            });
          });
          res.on('close', () => retry('ended'));
          res.on('error', () => undefined);
        });
        req.on('error', (error) => retry(error.message));
        req.end();
      };
      connect();
    });
  };

  for (let first = 0; first < count; first += CONNECT_BATCH) {
    const batch: Promise<void>[] = [];
    for (let i = first; i < Math.min(count, first + CONNECT_BATCH); i++) batch.push(watch(i));
    await Promise.all(batch);
  }
  return {
    close() {
      closing = true;
      for (const req of requests) req.destroy();
    },
  };
}
