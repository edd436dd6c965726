// Control stats: scrapes every registered sidecar's admin /metrics, keeps a short history per sidecar, answers windowed golden metrics.
import { ValidationError, type Runtime } from '../../core/index.js';
import { ADMIN_META_KEY, STATS_DEFAULTS, type Instance, type StatsReply, type StatsRow, type StatsSkipped } from '../../model/index.js';
import type { Registry } from '../../registry/index.js';
import { forEachBounded, scrapeMetrics } from './metrics-scrape.js';
import { parseInboundCounters, type ServiceCounters } from './prom-text.js';
import { addDelta, emptyDelta, latencyOf, type WindowDelta } from './window-delta.js';

export interface StatsCollectorOptions {
  /** Background scrape interval while someone is looking; default 2 s. */
  intervalMs?: number;
  /** Per-scrape timeout; default 1 s. */
  timeoutMs?: number;
  /** Scrapes in flight at once; default 8. */
  concurrency?: number;
  /** Background scraping stops this long after the last stats request; default 10 min. */
  idleMs?: number;
}

export const STATS_COLLECTOR_DEFAULTS = { intervalMs: 2_000, timeoutMs: 1_000, concurrency: 8, idleMs: 600_000 } as const;

export interface StatsRequest {
  windowSeconds: number;
  service?: string;
  byInstance?: boolean;
}

interface Sample {
  readonly at: number;
  readonly services: Map<string, ServiceCounters>;
}

interface SidecarHistory {
  service: string;
  admin: string;
  samples: Sample[];
  /** Why the last scrape failed; undefined when it succeeded. */
  failure?: string;
}

/**
 * Scraping happens on demand (every stats request scrapes, unless a scrape finished under half an interval ago,
 * and scrapes twice when it meets a sidecar for the first time) and in the background while stats are being
 * asked for, so that a window always has an earlier sample to compare with. Nothing is scraped in a mesh
 * nobody looks at.
 */
export class StatsCollector {
  private readonly options: Required<StatsCollectorOptions>;
  private readonly sidecars = new Map<string, SidecarHistory>();
  private refreshing: Promise<void> | undefined;
  private lastRefresh = -Infinity;
  private lastAsked = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly registry: Registry,
    private readonly runtime: Runtime,
    options: StatsCollectorOptions = {},
  ) {
    this.options = { ...STATS_COLLECTOR_DEFAULTS, ...options };
  }

  async stats(request: StatsRequest): Promise<StatsReply> {
    this.lastAsked = this.runtime.clock.now();
    this.keepScraping();
    const stale = this.runtime.clock.now() - this.lastRefresh >= this.options.intervalMs / 2;
    if (stale || this.targets().some((instance) => !this.sidecars.has(instance.id))) await this.refresh();
    else await this.refreshing;
    // A sidecar seen for the first time has nothing to compare with yet: sample it once more rather than answer "warming up".
    if (this.firstSightings(request.service)) {
      await new Promise((resolve) => setTimeout(resolve, this.options.intervalMs / 2));
      await this.refresh();
    }
    return this.summarize(request);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private keepScraping(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => {
      if (this.runtime.clock.now() - this.lastAsked > this.options.idleMs) {
        clearInterval(this.timer);
        this.timer = undefined;
        return;
      }
      void this.refresh();
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private firstSightings(service: string | undefined): boolean {
    for (const history of this.sidecars.values()) {
      if ((service === undefined || history.service === service) && history.failure === undefined && history.samples.length === 1) return true;
    }
    return false;
  }

  private targets(): Instance[] {
    return this.registry.all().filter((instance) => instance.meta[ADMIN_META_KEY] !== undefined);
  }

  /** One scrape of every known sidecar; concurrent callers share it. */
  private refresh(): Promise<void> {
    return (this.refreshing ??= this.scrapeAll().finally(() => {
      this.refreshing = undefined;
      this.lastRefresh = this.runtime.clock.now();
    }));
  }

  private async scrapeAll(): Promise<void> {
    const targets = this.targets();
    const known = new Set(targets.map((t) => t.id));
    for (const id of this.sidecars.keys()) if (!known.has(id)) this.sidecars.delete(id);
    await forEachBounded(targets, this.options.concurrency, async (instance) => {
      const admin = instance.meta[ADMIN_META_KEY]!;
      let history = this.sidecars.get(instance.id);
      if (!history || history.admin !== admin) {
        history = { service: instance.service, admin, samples: [] };
        this.sidecars.set(instance.id, history);
      }
      try {
        const text = await scrapeMetrics(admin, this.options.timeoutMs);
        this.record(history, { at: this.runtime.clock.now(), services: parseInboundCounters(text) });
        history.failure = undefined;
      } catch (error) {
        history.failure = error instanceof Error ? error.message : String(error);
        this.runtime.logger.debug({ instance: instance.id, admin, err: history.failure }, 'stats scrape failed');
      }
    });
  }

  /** Keeps samples long enough for the longest window, at most one per half interval. */
  private record(history: SidecarHistory, sample: Sample): void {
    const samples = history.samples;
    const newest = samples[samples.length - 1];
    if (newest && sample.at - newest.at < this.options.intervalMs / 2 && samples.length > 1) samples[samples.length - 1] = sample;
    else samples.push(sample);
    const horizon = sample.at - STATS_DEFAULTS.maxWindowSeconds * 1000 - 2 * this.options.intervalMs;
    // Keep one sample older than the longest window, so that window still has a baseline.
    while (samples.length > 2 && samples[1]!.at <= horizon) samples.shift();
  }

  private summarize(request: StatsRequest): StatsReply {
    const windowMs = request.windowSeconds * 1000;
    const rows = new Map<string, { service: string; instance?: string; delta: WindowDelta; sidecars: number }>();
    const skipped: StatsSkipped[] = [];
    for (const [id, history] of this.sidecars) {
      if (request.service !== undefined && history.service !== request.service) continue;
      const reason = history.failure === undefined ? undefined : `unreachable: ${history.failure}`;
      const current = history.samples[history.samples.length - 1];
      const base = current && baselineOf(history.samples, current.at - windowMs);
      if (reason !== undefined || !current || !base) {
        skipped.push({ service: history.service, instance: id, admin: history.admin, reason: reason ?? 'warming up: no earlier sample yet' });
        continue;
      }
      const seconds = (current.at - base.at) / 1000;
      const counters = current.services.get(history.service);
      const key = request.byInstance ? `${history.service}\u0000${id}` : history.service;
      let row = rows.get(key);
      if (!row) rows.set(key, (row = { service: history.service, ...(request.byInstance ? { instance: id } : {}), delta: emptyDelta(), sidecars: 0 }));
      row.sidecars++;
      if (counters) addDelta(row.delta, counters, base.services.get(history.service), seconds);
    }
    const out: StatsRow[] = [...rows.values()]
      .map(({ service, instance, delta, sidecars }) => ({
        service,
        ...(instance === undefined ? {} : { instance }),
        requests: delta.requests,
        successes: delta.successes,
        successRate: delta.requests > 0 ? delta.successes / delta.requests : null,
        rps: Math.round(delta.rps * 1000) / 1000,
        latencyMs: latencyOf(delta),
        sidecars,
      }))
      .sort((a, b) => a.service.localeCompare(b.service) || (a.instance ?? '').localeCompare(b.instance ?? ''));
    skipped.sort((a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance));
    return { version: this.registry.version(), direction: 'inbound', windowSeconds: request.windowSeconds, by: request.byInstance ? 'instance' : 'service', rows: out, skipped };
  }
}

/** The newest sample at or before `since`; else the oldest earlier sample than the newest (a shorter window); else none. */
function baselineOf(samples: readonly Sample[], since: number): Sample | undefined {
  for (let i = samples.length - 2; i >= 0; i--) if (samples[i]!.at <= since) return samples[i];
  return samples.length > 1 ? samples[0] : undefined;
}

/** `10s`, `2m`, `500ms` or a bare number of seconds, within 1 s and the longest window kept. */
export function parseWindow(text: string | null): number {
  if (text === null || text === '') return STATS_DEFAULTS.windowSeconds;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  const unit = match?.[2] ?? 's';
  const seconds = match ? Number(match[1]) / (unit === 'ms' ? 1000 : unit === 'm' ? 1 / 60 : 1) : NaN;
  if (!(seconds >= 1 && seconds <= STATS_DEFAULTS.maxWindowSeconds)) {
    throw new ValidationError('window', `expected a duration such as 10s or 1m, from 1s to ${STATS_DEFAULTS.maxWindowSeconds}s; got "${text}"`);
  }
  return seconds;
}
