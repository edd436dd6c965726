// Registry: the registry model — instances stored in a RegistryBackend, TTL health from in-memory leases, and a resumable change stream.
import { NotFoundError, ValidationError, WeftError, type Runtime } from '../core/index.js';
import {
  heartbeatSchema,
  HostPolicy,
  kindPolicyWriteProblem,
  INSTANCE_ID,
  instanceRegistrationSchema,
  parseOrThrow,
  samePolicy,
  type Health,
  type KindPolicy,
  type PolicyKind,
  POLICY_KINDS,
  POLICY_KIND_TABLE,
  type Instance,
  type ServicePolicy,
  type ServiceSummary,
  type WatchEvent,
} from '../model/index.js';
import type { BackendEvent, RegistryBackend } from './backend.js';
import { decodeInstance, encodeInstance, idFromKey, INSTANCE_PREFIX, instanceKey } from './instance-codec.js';
import type { Liveness } from './liveness.js';
import { MemoryLiveness } from './memory-liveness.js';
import { encodePolicy, POLICY_PREFIX, policyKey } from './policy-codec.js';
import { policyFromRequest, PolicyTable } from './policy-table.js';
import { encodeKindPolicy, kindOfKey, kindPolicyFromRequest, kindPolicyKey, PolicyKindTable } from './policy-kind-table.js';
import { VersionConflictError, type WriteCondition } from './backend.js';
import { RegistryMetrics } from './registry-metrics.js';
import { VersionGate } from './version-gate.js';
import { WatchHistory, type WatchListener } from './watch-history.js';

export const TTL_EXPIRED = 'ttl expired';

export interface RegistryOptions {
  /** How long an instance stays listed as critical after its TTL lapsed; default: its own ttlMs. */
  criticalRemoveAfterMs?: number;
  /** Change events kept for resuming watchers; default 1024. */
  historySize?: number;
  /** Period of the TTL sweep; default 250 ms. */
  sweepIntervalMs?: number;
  /** Which instance addresses are accepted; default: any host but link-local, unspecified and broadcast addresses. */
  hostPolicy?: HostPolicy;
}

export interface WatchSubscription {
  /** What to send first: the missed changes when resuming, otherwise one `reset` with the full state. */
  readonly initial: readonly WatchEvent[];
  unsubscribe(): void;
}

const RESYNC_DELAY_MS = 1_000;
const DEFAULT_HOST_POLICY = new HostPolicy();

export class Registry {
  private readonly instancesById = new Map<string, Instance>();
  private current = 0;
  /** Store version of each instance's record, for conditional writes. */
  private readonly versions = new Map<string, number>();
  private readonly liveness: Liveness;
  private readonly history: WatchHistory;
  private readonly metrics: RegistryMetrics;
  private readonly stop = new AbortController();
  private readonly gate = new VersionGate();
  /** Ids with an expiry write in flight, so that consecutive sweeps do not repeat it. */
  private readonly expiring = new Set<string>();
  private readonly sweepTimer: NodeJS.Timeout;
  private following: Promise<void> = Promise.resolve();
  private readonly policyTable: PolicyTable;
  private readonly kindTable: PolicyKindTable;

  private constructor(
    private readonly backend: RegistryBackend,
    private readonly runtime: Runtime,
    private readonly options: RegistryOptions,
  ) {
    this.liveness = backend.liveness?.(runtime.clock) ?? new MemoryLiveness(runtime.clock);
    this.policyTable = new PolicyTable(runtime.logger);
    this.kindTable = new PolicyKindTable(runtime.logger);
    this.history = new WatchHistory(0, options.historySize ?? 1024, (error) => runtime.logger.error({ err: error }, 'watch listener failed'));
    this.metrics = new RegistryMetrics(runtime.metrics, () => this.instancesById.values(), () => this.current);
    this.sweepTimer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 250);
    this.sweepTimer.unref();
  }

  static async open(backend: RegistryBackend, runtime: Runtime, options: RegistryOptions = {}): Promise<Registry> {
    const registry = new Registry(backend, runtime, options);
    try {
      await registry.load();
    } catch (error) {
      await registry.close();
      throw error;
    }
    registry.following = registry.follow();
    return registry;
  }

  // ---- writes ----

  async register(input: unknown, pathId?: string): Promise<{ instance: Instance; version: number; created: boolean }> {
    const registration = parseOrThrow(instanceRegistrationSchema, input);
    const refusal = (this.options.hostPolicy ?? DEFAULT_HOST_POLICY).refusal(registration.host);
    if (refusal !== undefined) throw new ValidationError('host', refusal);
    if (pathId !== undefined && !INSTANCE_ID.test(pathId)) throw new ValidationError('id', 'expected 1-128 characters of [A-Za-z0-9._:@-], starting alphanumeric');
    if (registration.id !== undefined && pathId !== undefined && registration.id !== pathId) {
      throw new ValidationError('id', `"${registration.id}" does not match the id in the path ("${pathId}")`);
    }
    const id = registration.id ?? pathId;
    if (id === undefined) throw new ValidationError('id', 'required, in the body or the path');
    const instance: Instance = {
      id,
      service: registration.service,
      host: registration.host,
      port: registration.port,
      weight: registration.weight,
      protocol: registration.protocol,
      meta: registration.meta,
      tags: registration.tags,
      ttlMs: registration.ttlMs,
      health: 'passing',
    };
    const created = !this.instancesById.has(id);
    // Liveness first: a peer control plane that sees the record must also see a live TTL.
    await this.liveness.renew(id, instance.ttlMs);
    const version = await this.write(instance);
    this.metrics.registrations.inc();
    return { instance, version, created };
  }

  async deregister(id: string): Promise<{ instance: Instance; version: number }> {
    const instance = this.require(id);
    const version = await this.erase(id);
    await this.liveness.forget(id);
    this.metrics.deregistrations.inc();
    return { instance, version };
  }

  /** Renews the TTL in memory; writes only when the reported health differs from the stored one. */
  async heartbeat(id: string, body: unknown): Promise<{ instance: Instance; version: number }> {
    const beat = parseOrThrow(heartbeatSchema, body ?? {});
    const instance = this.require(id);
    await this.liveness.renew(id, instance.ttlMs);
    const reason = beat.status === 'critical' ? (beat.reason ?? 'reported critical') : undefined;
    if (instance.health === beat.status && instance.healthReason === reason) return { instance, version: this.current };
    const next = withHealth(instance, beat.status, reason);
    return { instance: next, version: await this.write(next) };
  }

  // ---- policies: stored under policies/<service> in the same backend and version sequence as instances ----

  /** Stores a policy (validated, defaults filled in); an identical one is left alone and reported unchanged. */
  async putPolicy(input: unknown, pathService?: string): Promise<{ policy: ServicePolicy; version: number; changed: boolean }> {
    const policy = policyFromRequest(input, pathService);
    const stored = this.policyTable.get(policy.service);
    if (stored && samePolicy(stored, policy)) return { policy: stored, version: this.current, changed: false };
    const version = await this.backend.put(policyKey(policy.service), encodePolicy(policy));
    await this.reach(version);
    return { policy, version, changed: true };
  }

  async deletePolicy(service: string): Promise<{ service: string; version: number }> {
    if (!this.policyTable.get(service)) throw new NotFoundError(`policy "${service}"`);
    const version = await this.backend.delete(policyKey(service));
    await this.reach(version);
    return { service, version };
  }

  policy(service: string): ServicePolicy | undefined {
    return this.policyTable.get(service);
  }

  /** Every stored policy, sorted by service. */
  policies(): ServicePolicy[] {
    return this.policyTable.all();
  }

  // ---- policies of the other kinds (AuthorizationPolicy, ...): stored under their kind's key prefix, same version sequence ----

  /** Stores a policy of a table kind (validated, defaults filled in); an identical one is left alone and reported unchanged. */
  async putKindPolicy(kind: PolicyKind, input: unknown, pathService: string): Promise<{ policy: KindPolicy; version: number; changed: boolean }> {
    const policy = kindPolicyFromRequest(kind, input, pathService);
    const problem = kindPolicyWriteProblem(policy);
    if (problem !== undefined) throw new ValidationError(problem.field, problem.message);
    const stored = this.kindTable.get(kind, policy.service);
    if (stored && samePolicy(stored, policy)) return { policy: stored, version: this.current, changed: false };
    const version = await this.backend.put(kindPolicyKey(kind, policy.service), encodeKindPolicy(policy));
    await this.reach(version);
    return { policy, version, changed: true };
  }

  async deleteKindPolicy(kind: PolicyKind, service: string): Promise<{ kind: PolicyKind; service: string; version: number }> {
    if (!this.kindTable.get(kind, service)) throw new NotFoundError(`${kind} "${service}"`);
    const version = await this.backend.delete(kindPolicyKey(kind, service));
    await this.reach(version);
    return { kind, service, version };
  }

  kindPolicy(kind: PolicyKind, service: string): KindPolicy | undefined {
    return this.kindTable.get(kind, service);
  }

  /** One kind's stored policies, or every table kind's, sorted by kind then service. */
  kindPolicies(kind?: PolicyKind): KindPolicy[] {
    return this.kindTable.all(kind);
  }

  // ---- reads ----

  /** Identity of the backing store's history; see RegistryBackend.storeId. */
  storeId(): string {
    return this.backend.storeId;
  }

  version(): number {
    return this.current;
  }

  get(id: string): Instance | undefined {
    return this.instancesById.get(id);
  }

  all(): Instance[] {
    return [...this.instancesById.values()].sort(byId);
  }

  instances(service: string): Instance[] {
    const out: Instance[] = [];
    for (const instance of this.instancesById.values()) if (instance.service === service) out.push(instance);
    return out.sort(byId);
  }

  services(): ServiceSummary[] {
    const counts = new Map<string, { instances: number; passing: number; critical: number }>();
    for (const instance of this.instancesById.values()) {
      let entry = counts.get(instance.service);
      if (!entry) counts.set(instance.service, (entry = { instances: 0, passing: 0, critical: 0 }));
      entry.instances++;
      entry[instance.health]++;
    }
    return [...counts].map(([name, c]) => ({ name, ...c })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Starts a change stream. Resumes with exactly the missed changes when `since` is the current version or
   * still in the history ring; otherwise (absent, too old, or newer than this registry) starts with a reset.
   * The listener gets every later change; call it synchronously after reading `initial`.
   */
  watch(since: number | undefined, listener: WatchListener): WatchSubscription {
    const missed = since === undefined ? undefined : this.history.since(since, this.current);
    const initial: readonly WatchEvent[] = missed ?? [this.resetEvent()];
    const unsubscribe = this.history.subscribe(listener);
    return { initial, unsubscribe };
  }

  // ---- TTL ----

  /** One pass over the leases: lapsed instances become critical, and are removed once lapsed long enough. Runs every sweepIntervalMs. */
  sweep(): void {
    if (this.stop.signal.aborted) return;
    const now = this.runtime.clock.now();
    for (const [id, deadline] of this.liveness.lapsed(now)) {
      if (this.expiring.has(id)) continue;
      const instance = this.instancesById.get(id);
      if (!instance) {
        this.liveness.untrack(id);
        continue;
      }
      // Conditional on the version seen here: another control plane on a shared store may act on the same
      // lapse, or the instance may have registered again meanwhile; then this write must not happen.
      const condition = { ifVersion: this.versions.get(id) ?? 0 };
      const removeAfter = this.options.criticalRemoveAfterMs ?? instance.ttlMs;
      if (now >= deadline + removeAfter) {
        this.expire(id, async () => {
          if (!(await this.conditionally(() => this.erase(id, condition)))) return;
          await this.liveness.forget(id);
          this.metrics.expirations.inc();
          this.runtime.logger.info({ id, service: instance.service }, 'instance removed: TTL lapsed');
        });
      } else if (instance.health !== 'critical' || instance.healthReason !== TTL_EXPIRED) {
        this.expire(id, async () => {
          if (!(await this.conditionally(() => this.write(withHealth(instance, 'critical', TTL_EXPIRED), condition)))) return;
          this.runtime.logger.info({ id, service: instance.service }, 'instance critical: TTL lapsed');
        });
      }
    }
  }

  async close(): Promise<void> {
    if (this.stop.signal.aborted) return;
    this.stop.abort();
    clearInterval(this.sweepTimer);
    await this.following;
    await this.liveness.close();
    this.history.clear();
    this.metrics.unregister();
    this.gate.close();
  }

  // ---- internals ----

  private require(id: string): Instance {
    const instance = this.instancesById.get(id);
    if (!instance) throw new NotFoundError(`instance "${id}"`);
    return instance;
  }

  private expire(id: string, work: () => Promise<void>): void {
    this.expiring.add(id);
    work()
      .catch((error: unknown) => this.runtime.logger.error({ err: error, id }, 'TTL expiry write failed; will retry'))
      .finally(() => this.expiring.delete(id));
  }

  /** Writes through the backend and resolves once this registry's own view includes the write (read-your-writes). */
  private async write(instance: Instance, condition?: WriteCondition): Promise<number> {
    const version = await this.backend.put(instanceKey(instance.id), encodeInstance(instance), condition);
    await this.reach(version);
    return version;
  }

  private async erase(id: string, condition?: WriteCondition): Promise<number> {
    const version = await this.backend.delete(instanceKey(id), condition);
    await this.reach(version);
    return version;
  }

  /** Runs a conditional write; false when the condition no longer held (someone else changed the instance first). */
  private async conditionally(work: () => Promise<number>): Promise<boolean> {
    try {
      await work();
      return true;
    } catch (error) {
      if (error instanceof VersionConflictError) return false;
      throw error;
    }
  }

  private reach(version: number): Promise<void> {
    return this.gate.reach(version, this.current);
  }


  private async load(): Promise<void> {
    const { revision, items } = await this.backend.list(INSTANCE_PREFIX);
    const now = this.runtime.clock.now();
    this.instancesById.clear();
    this.versions.clear();
    for (const item of items) {
      const instance = decodeInstance(item.value);
      if (!instance) {
        this.runtime.logger.warn({ key: item.key }, 'skipping a stored value that is not an instance');
        continue;
      }
      this.instancesById.set(instance.id, instance);
      this.versions.set(instance.id, item.version);
      this.liveness.track(instance.id, instance.ttlMs, now);
    }
    for (const [id] of this.liveness.lapsed(Number.POSITIVE_INFINITY)) if (!this.instancesById.has(id)) this.liveness.untrack(id);
    // Listed after the instances, so nothing between the two listings is missed: the watch starts at the
    // instances' revision and the table skips the changes its own listing already holds.
    const policies = await this.backend.list(POLICY_PREFIX);
    this.policyTable.load(policies.revision, policies.items);
    for (const kind of POLICY_KINDS) {
      const listed = await this.backend.list(POLICY_KIND_TABLE[kind].keyPrefix);
      this.kindTable.load(kind, listed.revision, listed.items);
    }
    this.current = revision;
    this.history.rebase(revision);
    this.gate.settle(this.current);
  }

  private resetEvent(): WatchEvent {
    return { type: 'reset', version: this.current, instances: this.all(), policies: this.policies(), kindPolicies: this.kindPolicies() };
  }

  /** Follows the backend's changes (including other writers'); on a broken watch, reloads and tells watchers with a reset. */
  private async follow(): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        // One watch over the whole store keeps instance and policy changes in one version order.
        for await (const event of this.backend.watch('', this.current, this.stop.signal)) {
          if (event.key.startsWith(INSTANCE_PREFIX)) this.apply(event);
          else if (event.key.startsWith(POLICY_PREFIX)) this.applyPolicy(event);
          else this.applyKindPolicy(event);
        }
        if (this.stop.signal.aborted) return;
        throw new WeftError('CONTROL_UNAVAILABLE', 'backend watch ended');
      } catch (error) {
        if (this.stop.signal.aborted) return;
        this.runtime.logger.warn({ err: error }, 'registry lost its backend watch; reloading');
        await new Promise((resolve) => setTimeout(resolve, RESYNC_DELAY_MS));
        if (this.stop.signal.aborted) return;
        try {
          await this.load();
          this.history.broadcast(this.resetEvent());
        } catch (loadError) {
          this.runtime.logger.error({ err: loadError }, 'registry reload failed');
        }
      }
    }
  }

  private apply(event: BackendEvent): void {
    if (event.version <= this.current) return;
    const id = idFromKey(event.key);
    let change: WatchEvent | undefined;
    if (event.type === 'put') {
      const instance = decodeInstance(event.value);
      if (instance) {
        this.instancesById.set(id, instance);
        this.versions.set(id, event.version);
        this.liveness.track(id, instance.ttlMs, this.runtime.clock.now());
        change = { type: 'upsert', version: event.version, instance };
      } else {
        this.runtime.logger.warn({ key: event.key }, 'ignoring a stored value that is not an instance');
      }
    } else {
      const previous = this.instancesById.get(id);
      this.instancesById.delete(id);
      this.versions.delete(id);
      this.liveness.untrack(id);
      if (previous) change = { type: 'remove', version: event.version, id, service: previous.service };
    }
    this.current = event.version;
    if (change) this.history.push(change);
    this.gate.settle(this.current);
  }

  private applyKindPolicy(event: BackendEvent): void {
    const kind = kindOfKey(event.key);
    if (kind === undefined || event.version <= this.current) return;
    const change = this.kindTable.apply(kind, event);
    this.current = event.version;
    if (change) this.history.push(change);
    this.gate.settle(this.current);
  }

  private applyPolicy(event: BackendEvent): void {
    if (event.version <= this.current) return;
    const change = this.policyTable.apply(event);
    this.current = event.version;
    if (change) this.history.push(change);
    this.gate.settle(this.current);
  }
}

function withHealth(instance: Instance, health: Health, reason: string | undefined): Instance {
  const { healthReason: _previous, ...rest } = instance;
  return reason === undefined ? { ...rest, health } : { ...rest, health, healthReason: reason };
}

function byId(a: Instance, b: Instance): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
