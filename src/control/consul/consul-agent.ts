// Consul API: the agent's side of checks — Consul check statuses per instance, the HTTP/TCP checkers, and the heartbeats they send to the registry.
import { NotFoundError, ValidationError, WeftError, type Runtime } from '../../core/index.js';
import { HostPolicy, type Instance, type WatchEvent } from '../../model/index.js';
import type { Registry, WatchSubscription } from '../../registry/index.js';
import { checkRecords, isAgentManaged, readCheckRecords, recordsFingerprint } from './check-record.js';
import { probe } from './check-probe.js';
import { checkTarget } from './check-target.js';
import { checkTiming, MAX_TTL_MS, type CheckDefinition, type CheckKind, type ConsulStatus, type ServiceDefinition } from './service-definition.js';

/** A check as the health and agent endpoints show it. */
export interface CheckView {
  readonly id: string;
  readonly name: string;
  readonly status: ConsulStatus;
  readonly output: string;
  readonly kind: CheckKind | '';
  readonly definition?: CheckDefinition;
}

export interface ConsulAgentOptions {
  /** Period of the sweep that lapses TTL checks of agent-run services and reaps long-critical ones; default 500 ms. */
  sweepIntervalMs?: number;
  /**
   * The addresses HTTP/TCP checks may reach, besides being the instance's own host; default: the registry's default
   * policy (no link-local, unspecified or broadcast address). Pass the registry's own policy to apply the operator's CIDRs.
   */
  hostPolicy?: HostPolicy;
}

interface CheckState {
  readonly id: string;
  readonly name: string;
  /** Undefined for a record that does not read back: critical, never run, never updated. */
  readonly def: CheckDefinition | undefined;
  status: ConsulStatus;
  output: string;
  ttlDeadline: number;
  criticalSince: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

interface Tracked {
  readonly id: string;
  /** The instance's host: the only one its checks may reach. */
  readonly host: string;
  readonly fingerprint: string;
  readonly checks: CheckState[];
  /** The control plane renews the lease itself (HTTP/TCP checks or no check), rather than the client's TTL updates. */
  readonly agentRenews: boolean;
  stopped: boolean;
  renewTimer: NodeJS.Timeout | undefined;
}

const REASON_LIMIT = 256;

export class ConsulAgent {
  private readonly tracked = new Map<string, Tracked>();
  /** Check id → instance id; Consul's check ids are agent-wide. */
  private readonly checkOwners = new Map<string, string>();
  /** Consul status last reported for instances registered over the weft API (warning has no weft equivalent). */
  private readonly reported = new Map<string, { status: ConsulStatus; output: string }>();
  /** Ids being registered here right now: their own upsert must not be adopted as a foreign registration. */
  private readonly registering = new Set<string>();
  private readonly subscription: WatchSubscription;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly hostPolicy: HostPolicy;
  private closed = false;

  constructor(
    private readonly registry: Registry,
    private readonly runtime: Runtime,
    options: ConsulAgentOptions = {},
  ) {
    this.hostPolicy = options.hostPolicy ?? new HostPolicy();
    this.subscription = registry.watch(undefined, (event) => this.follow(event));
    for (const event of this.subscription.initial) this.follow(event);
    this.sweepTimer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 500);
    this.sweepTimer.unref();
  }

  async register(definition: ServiceDefinition): Promise<Instance> {
    const { registration, checks } = definition;
    checks.forEach((check, i) => {
      if (check.kind === 'ttl') return;
      const checked = checkTarget(check, registration.host, this.hostPolicy);
      if (!checked.ok) throw new ValidationError(`${definition.checkFields[i] ?? 'Check'}.${checked.field}`, checked.reason);
    });
    const meta = { ...registration.meta, ...checkRecords(checks, definition.checkFields) };
    this.registering.add(registration.id);
    try {
      const { instance } = await this.registry.register({ ...registration, meta });
      this.reported.delete(instance.id);
      const tracked = this.track(instance, true);
      // Consul starts a check critical unless its Status says otherwise; weft registers as passing, so say so at once.
      if (aggregate(tracked).status === 'critical') await this.report(tracked);
      return this.registry.get(instance.id) ?? instance;
    } finally {
      this.registering.delete(registration.id);
    }
  }

  async deregister(id: string): Promise<void> {
    await this.registry.deregister(id);
    this.untrack(id);
  }

  /** PUT /v1/agent/check/pass|warn|fail/:id — a TTL update, also accepted as `service:<id>` or `<id>` for any instance. */
  async updateCheck(checkId: string, status: ConsulStatus, note: string): Promise<void> {
    const owner = this.checkOwners.get(checkId);
    const tracked = owner === undefined ? this.tracked.get(checkId) : this.tracked.get(owner);
    if (tracked) {
      const check = tracked.checks.find((c) => c.id === checkId) ?? (tracked.checks.length === 1 ? tracked.checks[0] : undefined);
      if (!check) throw new NotFoundError(`check "${checkId}"`);
      if (check.def === undefined) throw new ValidationError('checkId', `check "${check.id}" cannot be updated: its stored record does not read back; register the service again`);
      if (check.def.kind !== 'ttl') throw new ValidationError('checkId', `check "${check.id}" is an ${check.def.kind.toUpperCase()} check run by the agent; only TTL checks take updates`);
      check.ttlDeadline = this.runtime.clock.now() + (check.def.ttlMs ?? MAX_TTL_MS);
      this.setStatus(check, status, note);
      await this.report(tracked);
      return;
    }
    const id = checkId.startsWith('service:') ? checkId.slice('service:'.length) : checkId;
    if (this.registry.get(id) === undefined) throw new NotFoundError(`check "${checkId}"`);
    this.reported.set(id, { status, output: note });
    await this.registry.heartbeat(id, status === 'critical' ? { status, reason: clip(note || 'TTL check failed') } : { status: 'passing' });
  }

  /** The id of the instance a check id belongs to, as updateCheck resolves it (undefined when unknown). */
  instanceOfCheck(checkId: string): string | undefined {
    const owner = this.checkOwners.get(checkId);
    if (owner !== undefined) return owner;
    if (this.tracked.has(checkId)) return checkId;
    const id = checkId.startsWith('service:') ? checkId.slice('service:'.length) : checkId;
    return this.registry.get(id) === undefined ? undefined : id;
  }

  /** The Consul checks of an instance, with the registry's verdict overriding when it knows worse (a lapsed lease). */
  checksOf(instance: Instance): CheckView[] {
    const tracked = this.tracked.get(instance.id);
    if (!tracked) {
      const last = this.reported.get(instance.id);
      const status: ConsulStatus = instance.health === 'critical' ? 'critical' : (last?.status ?? 'passing');
      const output = instance.health === 'critical' ? (instance.healthReason ?? '') : (last?.output ?? '');
      return [{ id: `service:${instance.id}`, name: `Service '${instance.service}' check`, status, output, kind: 'ttl' }];
    }
    const views: CheckView[] = tracked.checks.map((c) => ({ id: c.id, name: c.name, status: c.status, output: c.output, kind: c.def?.kind ?? '', ...(c.def === undefined ? {} : { definition: c.def }) }));
    if (instance.health === 'critical' && !views.some((v) => v.status === 'critical')) {
      const reason = instance.healthReason ?? 'critical';
      const ttl = views.filter((v) => v.kind === 'ttl');
      if (ttl.length > 0) return views.map((v) => (v.kind === 'ttl' ? { ...v, status: 'critical', output: reason } : v));
      views.push({ id: `service:${instance.id}:weft`, name: 'weft registry health', status: 'critical', output: reason, kind: '' });
    }
    return views;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    this.subscription.unsubscribe();
    for (const id of [...this.tracked.keys()]) this.untrack(id);
  }

  // ---- internals ----

  private follow(event: WatchEvent): void {
    if (this.closed) return;
    if (event.type === 'reset') {
      const present = new Set(event.instances.map((i) => i.id));
      for (const id of [...this.tracked.keys()]) if (!present.has(id)) this.untrack(id);
      for (const instance of event.instances) this.adopt(instance);
    } else if (event.type === 'upsert') {
      this.adopt(event.instance);
    } else if (event.type === 'remove') {
      this.untrack(event.id);
      this.reported.delete(event.id);
    }
  }

  /** Takes over an instance registered elsewhere (before a restart, or by another control plane), starting from its registry health. */
  private adopt(instance: Instance): void {
    if (this.registering.has(instance.id)) return;
    const current = this.tracked.get(instance.id);
    if (!isAgentManaged(instance)) {
      if (current) this.untrack(instance.id);
      return;
    }
    if (current && current.fingerprint === recordsFingerprint(instance) && current.host === instance.host) return;
    this.track(instance, false);
  }

  private track(instance: Instance, fresh: boolean): Tracked {
    this.untrack(instance.id);
    const now = this.runtime.clock.now();
    const records = readCheckRecords(instance);
    const checks: CheckState[] = records.map(({ id, name, def, unreadable }) => {
      if (def === undefined) {
        this.runtime.logger.warn({ id: instance.id, check: id, reason: unreadable }, 'a stored consul check cannot be read; it stays critical');
        return { id, name, def, status: 'critical', output: unreadable, ttlDeadline: now, criticalSince: now, timer: undefined };
      }
      const status: ConsulStatus = fresh ? def.initial : instance.health === 'critical' ? 'critical' : 'passing';
      return {
        id,
        name,
        def,
        status,
        output: fresh ? '' : (instance.healthReason ?? ''),
        ttlDeadline: now + (def.ttlMs ?? MAX_TTL_MS),
        criticalSince: status === 'critical' ? now : undefined,
        timer: undefined,
      };
    });
    const probed = checks.filter((c) => c.def !== undefined && c.def.kind !== 'ttl');
    const tracked: Tracked = {
      id: instance.id,
      host: instance.host,
      fingerprint: recordsFingerprint(instance),
      checks,
      agentRenews: checks.length === 0 || checks.some((c) => c.def?.kind !== 'ttl'),
      stopped: false,
      renewTimer: undefined,
    };
    this.tracked.set(instance.id, tracked);
    for (const check of checks) this.checkOwners.set(check.id, instance.id);
    for (const check of probed) {
      const checked = check.def && checkTarget(check.def, instance.host, this.hostPolicy);
      // Said once here; every run then reports the reason as the check's output.
      if (checked && !checked.ok) this.runtime.logger.warn({ id: instance.id, check: check.id, field: checked.field, reason: checked.reason }, 'a stored consul check cannot run; it stays critical');
      this.schedule(tracked, check, 0);
    }
    // Probes renew the lease as they report; without any, the agent renews it itself.
    if (tracked.agentRenews && probed.length === 0) {
      // A stored lease is read back as it is: bounded here, since a timer past 2^31 ms (or NaN) would fire every millisecond.
      const every = Number.isFinite(instance.ttlMs) ? Math.min(MAX_TTL_MS / 4, Math.max(1_000, instance.ttlMs / 4)) : MAX_TTL_MS / 4;
      tracked.renewTimer = setInterval(() => this.reportInBackground(tracked), every);
      tracked.renewTimer.unref();
    }
    if (checks.some((c) => c.def === undefined)) this.reportInBackground(tracked);
    return tracked;
  }

  private untrack(id: string): void {
    const tracked = this.tracked.get(id);
    if (!tracked) return;
    tracked.stopped = true;
    clearInterval(tracked.renewTimer);
    for (const check of tracked.checks) {
      clearTimeout(check.timer);
      if (this.checkOwners.get(check.id) === id) this.checkOwners.delete(check.id);
    }
    this.tracked.delete(id);
  }

  private schedule(tracked: Tracked, check: CheckState, delayMs: number): void {
    check.timer = setTimeout(() => {
      this.runScheduled(tracked, check).catch((error: unknown) => this.runtime.logger.error({ err: error, id: tracked.id, check: check.id }, 'consul check could not be run again'));
    }, delayMs);
    check.timer.unref();
  }

  /** One run of an HTTP/TCP check, then the next one's timer whatever happened: a check that fails to run is critical, never stopped. */
  private async runScheduled(tracked: Tracked, check: CheckState): Promise<void> {
    const def = check.def;
    if (def === undefined) return;
    try {
      const result = await probe(def, { host: tracked.host, policy: this.hostPolicy });
      if (tracked.stopped) return;
      this.setStatus(check, result.status, result.output);
    } catch (error) {
      this.runtime.logger.error({ err: error, id: tracked.id, check: check.id }, 'consul check failed to run');
      if (tracked.stopped) return;
      this.setStatus(check, 'critical', 'the check failed to run');
    } finally {
      if (!tracked.stopped && !this.closed) this.schedule(tracked, check, checkTiming(def).intervalMs);
    }
    await this.report(tracked);
  }

  private reportInBackground(tracked: Tracked): void {
    this.report(tracked).catch((error: unknown) => this.runtime.logger.warn({ err: error, id: tracked.id }, 'consul check heartbeat failed'));
  }

  private setStatus(check: CheckState, status: ConsulStatus, output: string): void {
    if (status === 'critical' && check.status !== 'critical') check.criticalSince = this.runtime.clock.now();
    if (status !== 'critical') check.criticalSince = undefined;
    check.status = status;
    check.output = output;
  }

  /** Tells the registry the aggregate: any critical check makes the instance critical; warning routes like passing. */
  private async report(tracked: Tracked): Promise<void> {
    if (tracked.stopped) return;
    const { status, reason } = aggregate(tracked);
    try {
      await this.registry.heartbeat(tracked.id, status === 'critical' ? { status, reason } : { status });
    } catch (error) {
      if (error instanceof WeftError && error.code === 'NOT_FOUND') this.untrack(tracked.id);
      else if (!this.closed) this.runtime.logger.warn({ err: error, id: tracked.id }, 'consul check heartbeat failed');
    }
  }

  private sweep(): void {
    const now = this.runtime.clock.now();
    for (const tracked of [...this.tracked.values()]) {
      let changed = false;
      for (const check of tracked.checks) {
        // Without agent renewals the registry lease is the TTL check itself and lapses on its own.
        if (tracked.agentRenews && check.def?.kind === 'ttl' && check.status !== 'critical' && now >= check.ttlDeadline) {
          this.setStatus(check, 'critical', 'TTL expired');
          changed = true;
        }
        const after = check.def?.deregisterAfterMs;
        if (after !== undefined && check.criticalSince !== undefined && now - check.criticalSince >= after) {
          this.runtime.logger.info({ id: tracked.id, check: check.id }, 'deregistering a service critical for longer than its DeregisterCriticalServiceAfter');
          this.untrack(tracked.id);
          this.registry.deregister(tracked.id).catch((error: unknown) => this.runtime.logger.warn({ err: error, id: tracked.id }, 'deregistering a long-critical service failed'));
          changed = false;
          break;
        }
      }
      if (changed) this.reportInBackground(tracked);
    }
  }
}

function aggregate(tracked: Tracked): { status: 'passing' | 'critical'; reason: string | undefined } {
  const critical = tracked.checks.find((c) => c.status === 'critical');
  if (!critical) return { status: 'passing', reason: undefined };
  return { status: 'critical', reason: clip(`${critical.id}: ${critical.output || 'critical'}`) };
}

function clip(text: string): string {
  return text.length <= REASON_LIMIT ? text : `${text.slice(0, REASON_LIMIT - 1)}…`;
}
