// Control API: GET /api/v1/watch — an NDJSON stream of registry changes that resumes from ?since= and never buffers without bound.
import type { ServerResponse } from 'node:http';
import { ValidationError, type Runtime } from '../../core/index.js';
import { API_PREFIX, STORE_HEADER, WATCH_CONTENT_TYPE, WATCH_PING_INTERVAL_MS, withoutCheckRecords, type WatchEvent } from '../../model/index.js';
import type { Registry } from '../../registry/index.js';
import { VERSION_HEADER, type Router } from '../http/index.js';

export interface WatchStreamOptions {
  pingIntervalMs?: number;
  /** A stream whose unsent bytes exceed this is ended; the client reconnects with ?since= and resumes. */
  maxBufferedBytes?: number;
}

export class WatchStreams {
  private readonly open = new Set<ServerResponse>();
  private readonly encoded = new WeakMap<WatchEvent, string>();
  private readonly pingIntervalMs: number;
  private readonly maxBufferedBytes: number;

  constructor(
    private readonly registry: Registry,
    private readonly runtime: Runtime,
    options: WatchStreamOptions = {},
  ) {
    this.pingIntervalMs = options.pingIntervalMs ?? WATCH_PING_INTERVAL_MS;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  }

  /** Streams open right now (the control plane's `weft_control_watchers{kind="watch"}`). */
  count(): number {
    return this.open.size;
  }

  addRoute(router: Router): void {
    router.add('GET', `${API_PREFIX}/watch`, async ({ res, url }) => {
      const since = parseSince(url.searchParams.get('since'));
      const store = url.searchParams.get('store');
      // Versions from another store's history (e.g. before an in-memory control plane restarted) mean nothing here.
      this.start(res, store !== null && store !== this.registry.storeId() ? undefined : since);
      return undefined;
    });
  }

  /** Ends every stream (on shutdown); clients reconnect elsewhere or later and resume. */
  closeAll(): void {
    for (const res of this.open) res.end();
  }

  /** One event, serialised once however many streams send it: every watcher gets the same event object. */
  private line(event: WatchEvent): string {
    let text = this.encoded.get(event);
    if (text === undefined) {
      text = `${JSON.stringify(publicEvent(event))}\n`;
      this.encoded.set(event, text);
    }
    return text;
  }

  private start(res: ServerResponse, since: number | undefined): void {
    res.writeHead(200, {
      'content-type': WATCH_CONTENT_TYPE,
      'cache-control': 'no-store',
      [VERSION_HEADER]: String(this.registry.version()),
      [STORE_HEADER]: this.registry.storeId(),
    });
    res.socket?.setNoDelay(true);
    // Send the headers now: a resumed stream with nothing missed would otherwise say nothing until the first ping.
    res.flushHeaders();
    // What this stream may hold unsent before it counts as too slow. The first batch (a full reset can be
    // megabytes) is exempt: the bound is on falling behind, not on the size of the registry.
    let limit = Number.POSITIVE_INFINITY;
    const send = (event: WatchEvent): void => {
      if (res.writableEnded || res.destroyed) return;
      res.write(this.line(event));
      if (res.writableLength > limit) {
        this.runtime.logger.warn({ buffered: res.writableLength }, 'watch client too slow; ending its stream so it resumes later');
        res.destroy();
      }
    };
    const subscription = this.registry.watch(since, send);
    for (const event of subscription.initial) send(event);
    limit = res.writableLength + this.maxBufferedBytes;
    const ping = setInterval(() => send({ type: 'ping', version: this.registry.version() }), this.pingIntervalMs);
    this.open.add(res);
    res.once('close', () => {
      clearInterval(ping);
      subscription.unsubscribe();
      this.open.delete(res);
    });
  }
}

function parseSince(raw: string | null): number | undefined {
  if (raw === null) return undefined;
  const since = /^\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(since)) throw new ValidationError('since', 'expected a non-negative integer version');
  return since;
}

/** What a watcher may read of an event: instances without the control plane's check records. */
function publicEvent(event: WatchEvent): WatchEvent {
  if (event.type === 'upsert') return { ...event, instance: withoutCheckRecords(event.instance) };
  if (event.type === 'reset') return { ...event, instances: event.instances.map(withoutCheckRecords) };
  return event;
}
