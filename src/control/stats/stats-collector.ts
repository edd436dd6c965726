// Control stats: scrapes every registered sidecar's admin /metrics, keeps a short history per sidecar, answers windowed golden metrics and topology.
import type { LookupFunction } from 'node:net';
import { Counter } from 'prom-client';
import { ValidationError, type Runtime } from '../../core/index.js';
import { ADMIN_META_KEY, HostPolicy, STATS_DEFAULTS, UNKNOWN_SERVICE, type Instance, type StatsReply, type StatsRow, type StatsSkipped, type TopologyEdge, type TopologyReply } from '../../model/index.js';
import type { Registry } from '../../registry/index.js';
import { policyLookup } from '../instance-address.js';
import { forEachBounded, scrapeMetrics } from './metrics-scrape.js';
import { parseSidecarCounters, type SidecarCounters } from './prom-text.js';
import { scrapeTarget } from './scrape-target.js';
import { addDelta, emptyDelta, goldenOf, type WindowDelta } from './window-delta.js';

export interface StatsCollectorOptions {
  /** Background scrape interval while someone is looking; default 2 s. */
  intervalMs?: number;
  /** Per-scrape timeout; default 1 s. */
  timeoutMs?: number;
  /** Scrapes in flight at once; default 8. */
  concurrency?: number;
  /** Background scraping stops this long after the last stats request; default 10 min. */
  idleMs?: number;
  /** Which instance hosts may be scraped; default: the registry's default policy. Pass the registry's own to apply the operator's CIDRs. */
  hostPolicy?: HostPolicy;
}

export const STATS_COLLECTOR_DEFAULTS = { intervalMs: 2_000, timeoutMs: 1_000, concurrency: 8, idleMs: 600_000 } as const;
const REFUSED_TARGETS_METRIC = 'weft_control_stats_targets_refused_total';

export interface StatsRequest {
  windowSeconds: number;
  service?: string;
  byInstance?: boolean;
}

interface Sample {
  readonly at: number;
  readonly counters: SidecarCounters;
}

/** One sidecar's newest sample and the baseline a window compares it with. */
interface SidecarWindow {
  readonly id: string;
  readonly service: string;
  readonly current: Sample;
  readonly base: Sample;
  readonly seconds: number;
}

interface SidecarHistory {
  service: string;
  admin: string;
  samples: Sample[];
  /** Why the last scrape failed; undefined when it succeeded. */
  failure?: string;
  /** Why this sidecar is not scraped at all (its `weft.admin` is not host:port, or names another host). */
  refused?: string;
}

/**
 * Scraping happens on demand (every stats request scrapes, unless a scrape finished under half an interval ago,
 * and scrapes twice when it meets a sidecar for the first time) and in the background while stats are being
 * asked for, so that a window always has an earlier sample to compare with. Nothing is scraped in a mesh
 * nobody looks at.
 */
export class StatsCollector {
  private readonly options: Required<Omit<StatsCollectorOptions, 'hostPolicy'>>;
  private readonly hostPolicy: HostPolicy;
  private readonly lookup: LookupFunction;
  private readonly refusedTargets: Counter;
  /** Instance id → the refused `weft.admin` value already logged and counted for it, so that each is said once. */
  private readonly refusalsSaid = new Map<string, string>();
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
    const { hostPolicy, ...timing } = options;
    this.options = { ...STATS_COLLECTOR_DEFAULTS, ...timing };
    this.hostPolicy = hostPolicy ?? new HostPolicy();
    this.lookup = policyLookup(this.hostPolicy);
    runtime.metrics.removeSingleMetric(REFUSED_TARGETS_METRIC);
    this.refusedTargets = new Counter({
      name: REFUSED_TARGETS_METRIC,
      help: 'Instances whose weft.admin the stats scraper refused (not host:port, or not the instance\'s own host), once per instance and value.',
      registers: [runtime.metrics],
    });
  }

  async stats(request: StatsRequest): Promise<StatsReply> {
    await this.freshen(request.service);
    return this.summarize(request);
  }

  async topology(windowSeconds: number): Promise<TopologyReply> {
    await this.freshen(undefined);
    const { windows, skipped } = this.windows(windowSeconds * 1000, undefined);
    const edges = new Map<string, { source: string; destination: string; delta: WindowDelta }>();
    for (const { service, current, base, seconds } of windows) {
      for (const [destination, counters] of current.counters.outbound) {
        if (destination === UNKNOWN_SERVICE) continue; // a Host that named no known service: not an edge of the mesh
        const key = `${service}\u0000${destination}`;
        let edge = edges.get(key);
        if (!edge) edges.set(key, (edge = { source: service, destination, delta: emptyDelta() }));
        addDelta(edge.delta, counters, base.counters.outbound.get(destination), seconds);
      }
    }
    const out: TopologyEdge[] = [...edges.values()]
      .filter(({ delta }) => delta.requests > 0)
      .map(({ source, destination, delta }) => ({ source, destination, ...goldenOf(delta) }))
      .sort((a, b) => a.source.localeCompare(b.source) || a.destination.localeCompare(b.destination));
    return { version: this.registry.version(), windowSeconds, edges: out, skipped };
  }

  /** Scrapes unless a scrape is recent and covers every sidecar; a sidecar met for the first time is sampled twice. */
  private async freshen(service: string | undefined): Promise<void> {
    this.lastAsked = this.runtime.clock.now();
    this.keepScraping();
    const stale = this.runtime.clock.now() - this.lastRefresh >= this.options.intervalMs / 2;
    if (stale || this.unseenTarget()) await this.refresh();
    else await this.refreshing;
    // A scrape already under way when a sidecar registered did not cover it: one more does.
    if (this.unseenTarget()) await this.refresh();
    // A sidecar seen for the first time has nothing to compare with yet: sample it once more rather than answer "warming up".
    if (this.firstSightings(service)) {
      await new Promise((resolve) => setTimeout(resolve, this.options.intervalMs / 2));
      await this.refresh();
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.runtime.metrics.getSingleMetric(REFUSED_TARGETS_METRIC) === this.refusedTargets) this.runtime.metrics.removeSingleMetric(REFUSED_TARGETS_METRIC);
  }

  private keepScraping(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => {
      if (this.runtime.clock.now() - this.lastAsked > this.options.idleMs) {
        clearInterval(this.timer);
        this.timer = undefined;
        return;
      }
      this.refresh().catch((error: unknown) => this.runtime.logger.warn({ err: error }, 'stats scrape round failed'));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private firstSightings(service: string | undefined): boolean {
    for (const history of this.sidecars.values()) {
      if ((service === undefined || history.service === service) && history.failure === undefined && history.samples.length === 1) return true;
    }
    return false;
  }

  private unseenTarget(): boolean {
    return this.targets().some((instance) => !this.sidecars.has(instance.id));
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
    for (const id of this.refusalsSaid.keys()) if (!known.has(id)) this.refusalsSaid.delete(id);
    await forEachBounded(targets, this.options.concurrency, async (instance) => {
      const admin = instance.meta[ADMIN_META_KEY] ?? '';
      let history = this.sidecars.get(instance.id);
      if (!history || history.admin !== admin) {
        history = { service: instance.service, admin, samples: [] };
        this.sidecars.set(instance.id, history);
      }
      const target = scrapeTarget(instance, this.hostPolicy);
      if (!target.ok) {
        history.refused = target.reason;
        this.sayRefusal(instance, admin, target.reason);
        return;
      }
      history.refused = undefined;
      try {
        const text = await scrapeMetrics(target, this.options.timeoutMs, this.lookup);
        this.record(history, { at: this.runtime.clock.now(), counters: parseSidecarCounters(text) });
        history.failure = undefined;
      } catch (error) {
        history.failure = error instanceof Error ? error.message : String(error);
        this.runtime.logger.debug({ instance: instance.id, admin, err: history.failure }, 'stats scrape failed');
      }
    });
  }

  private sayRefusal(instance: Instance, admin: string, reason: string): void {
    if (this.refusalsSaid.get(instance.id) === admin) return;
    this.refusalsSaid.set(instance.id, admin);
    this.refusedTargets.inc();
    this.runtime.logger.warn({ instance: instance.id, service: instance.service, reason }, 'not scraping a sidecar: its weft.admin is refused');
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

  /** Every sidecar's window (of the service, when given), and the sidecars that cannot be counted with why. */
  private windows(windowMs: number, service: string | undefined): { windows: SidecarWindow[]; skipped: StatsSkipped[] } {
    const windows: SidecarWindow[] = [];
    const skipped: StatsSkipped[] = [];
    for (const [id, history] of this.sidecars) {
      if (service !== undefined && history.service !== service) continue;
      const reason = history.refused !== undefined ? `not scraped: ${history.refused}` : history.failure === undefined ? undefined : `unreachable: ${history.failure}`;
      const current = history.samples[history.samples.length - 1];
      const base = current && baselineOf(history.samples, current.at - windowMs);
      if (reason !== undefined || !current || !base) {
        skipped.push({ service: history.service, instance: id, admin: history.admin, reason: reason ?? 'warming up: no earlier sample yet' });
        continue;
      }
      windows.push({ id, service: history.service, current, base, seconds: (current.at - base.at) / 1000 });
    }
    skipped.sort((a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance));
    return { windows, skipped };
  }

  private summarize(request: StatsRequest): StatsReply {
    const rows = new Map<string, { service: string; instance?: string; delta: WindowDelta; sidecars: number; tcpConnections: number }>();
    const { windows, skipped } = this.windows(request.windowSeconds * 1000, request.service);
    for (const { id, service, current, base, seconds } of windows) {
      const counters = current.counters.inbound.get(service);
      const key = request.byInstance ? `${service}\u0000${id}` : service;
      let row = rows.get(key);
      if (!row) rows.set(key, (row = { service, ...(request.byInstance ? { instance: id } : {}), delta: emptyDelta(), sidecars: 0, tcpConnections: 0 }));
      row.sidecars++;
      row.tcpConnections += current.counters.inboundConnections;
      if (counters) addDelta(row.delta, counters, base.counters.inbound.get(service), seconds);
    }
    const out: StatsRow[] = [...rows.values()]
      .map(({ service, instance, delta, sidecars, tcpConnections }) => ({ service, ...(instance === undefined ? {} : { instance }), ...goldenOf(delta), sidecars, tcpConnections }))
      .sort((a, b) => a.service.localeCompare(b.service) || (a.instance ?? '').localeCompare(b.instance ?? ''));
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
