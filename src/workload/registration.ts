// Workload: keeps this process's instance (a sidecar's app, or an SDK process) registered with the control plane — register, heartbeat with app health, re-register, deregister.
import { Counter, type Registry } from 'prom-client';
import { Backoff, NotFoundError, WeftError, isWeftError, type BackoffOptions, type Runtime } from '../core/index.js';
import { INSTANCE_DEFAULTS, type Health } from '../model/index.js';
import type { ControlClient, RegistrationRequest } from './control-client.js';

export interface RegistrationOptions {
  runtime: Runtime;
  client: ControlClient;
  instance: RegistrationRequest;
  /** Defaults to a third of the TTL, so two heartbeats may be lost before the instance lapses. */
  heartbeatIntervalMs?: number;
  /** Retry pacing while the control plane is unreachable. */
  backoff?: BackoffOptions;
  /** Per-request timeout; defaults to the heartbeat interval, capped at 5 s. */
  requestTimeoutMs?: number;
  /** Deregistering is best effort on shutdown: the TTL cleans up when the control plane is unreachable. */
  deregisterTimeoutMs?: number;
  /** Health to report until setHealth() is called. */
  initialHealth?: Health;
}

export const REGISTRATION_DEFAULTS = {
  backoff: { baseMs: 200, maxMs: 5_000 },
  maxRequestTimeoutMs: 5_000,
  deregisterTimeoutMs: 1_000,
} as const;

type HeartbeatResult = 'ok' | 'not_found' | 'error';

export class Registration {
  private readonly runtime: Runtime;
  private readonly client: ControlClient;
  private readonly instance: RegistrationRequest;
  private readonly intervalMs: number;
  private readonly requestTimeoutMs: number;
  private readonly deregisterTimeoutMs: number;
  private readonly backoff: Backoff;
  private readonly heartbeats: Counter<'result'>;

  private status: Health;
  private reason: string | undefined;
  // What the control plane last acknowledged, so a change of health is sent at once rather than at the next beat.
  private sentStatus: Health | undefined;
  private sentReason: string | undefined;

  private isRegistered = false;
  private attempted = false;
  private started = false;
  private stopped = false;
  private outage = false;
  private wake = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<number> | undefined;
  private readonly abort = new AbortController();

  private settleRegistered!: (error?: WeftError) => void;
  private readonly registeredPromise: Promise<void>;

  constructor(options: RegistrationOptions) {
    this.runtime = options.runtime;
    this.client = options.client;
    this.instance = options.instance;
    const ttlMs = options.instance.ttlMs ?? INSTANCE_DEFAULTS.ttlMs;
    this.intervalMs = options.heartbeatIntervalMs ?? Math.floor(ttlMs / 3);
    this.requestTimeoutMs = options.requestTimeoutMs ?? Math.min(REGISTRATION_DEFAULTS.maxRequestTimeoutMs, Math.max(500, this.intervalMs));
    this.deregisterTimeoutMs = options.deregisterTimeoutMs ?? REGISTRATION_DEFAULTS.deregisterTimeoutMs;
    this.backoff = new Backoff(options.backoff ?? REGISTRATION_DEFAULTS.backoff, options.runtime.rng);
    this.heartbeats = heartbeatCounter(options.runtime.metrics);
    this.status = options.initialHealth ?? 'passing';
    this.registeredPromise = new Promise<void>((resolve, reject) => {
      this.settleRegistered = (error) => (error ? reject(error) : resolve());
    });
    // Nobody may be waiting when stop() rejects it; that must not become an unhandled rejection.
    this.registeredPromise.catch(() => undefined);
  }

  /** Starts registering in the background; returns at once. */
  start(): this {
    if (!this.started && !this.stopped) {
      this.started = true;
      this.schedule(0);
    }
    return this;
  }

  /** Resolves on the first successful registration; rejects if stopped before one. */
  registered(): Promise<void> {
    return this.registeredPromise;
  }

  isRegisteredNow(): boolean {
    return this.isRegistered;
  }

  /** Reports the app's health; a change is sent to the control plane right away. */
  setHealth(status: Health, reason?: string): void {
    this.status = status;
    this.reason = status === 'critical' ? reason : undefined;
    if (!this.started || this.stopped) return;
    if (this.isRegistered && this.needsHeartbeat()) this.wakeNow();
  }

  /** Stops heartbeating and, unless told otherwise, deregisters (best effort, short timeout). */
  async stop(options: { deregister?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort(new WeftError('CONTROL_UNAVAILABLE', 'registration stopped'));
    await this.inFlight;
    this.settleRegistered(new WeftError('CONTROL_UNAVAILABLE', `registration of ${this.instance.id} stopped before it succeeded`));
    if ((options.deregister ?? true) && this.attempted) {
      try {
        await this.client.deregister(this.instance.id, { timeoutMs: this.deregisterTimeoutMs });
        this.runtime.logger.info({ id: this.instance.id }, 'deregistered from the control plane');
      } catch (err) {
        if (!(err instanceof NotFoundError)) {
          this.runtime.logger.warn({ id: this.instance.id, err: describe(err) }, 'could not deregister; the TTL will remove the instance');
        }
      }
    }
    this.isRegistered = false;
  }

  private wakeNow(): void {
    if (this.inFlight) {
      this.wake = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => void this.run(), delayMs);
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    this.inFlight = this.isRegistered ? this.heartbeat() : this.register();
    const delay = await this.inFlight;
    this.inFlight = undefined;
    if (this.stopped) return;
    this.schedule(this.wake ? 0 : delay);
    this.wake = false;
  }

  /** One registration attempt; returns the delay before the next step. */
  private async register(): Promise<number> {
    this.attempted = true;
    try {
      const reply = await this.client.register(this.instance, { timeoutMs: this.requestTimeoutMs, signal: this.abort.signal });
      this.isRegistered = true;
      this.sentStatus = reply.instance.health;
      this.sentReason = reply.instance.health === 'critical' ? reply.instance.healthReason : undefined;
      this.backoff.reset();
      this.recovered();
      this.runtime.logger.info({ id: this.instance.id, service: this.instance.service, version: reply.version, control: this.client.url }, 'registered with the control plane');
      this.settleRegistered();
      return this.needsHeartbeat() ? 0 : this.intervalMs;
    } catch (err) {
      if (this.stopped) return 0;
      this.failed('register', err);
      return this.backoff.next();
    }
  }

  private async heartbeat(): Promise<number> {
    const status = this.status;
    const reason = this.reason;
    try {
      const reply = await this.client.heartbeat(this.instance.id, status, reason, { timeoutMs: this.requestTimeoutMs, signal: this.abort.signal });
      this.count('ok');
      // What we sent, not what came back: the server may fill in a default reason, which must not look like a change.
      this.sentStatus = status;
      this.sentReason = reason;
      this.runtime.logger.trace({ id: this.instance.id, health: reply.instance.health }, 'heartbeat acknowledged');
      this.backoff.reset();
      this.recovered();
      return this.needsHeartbeat() ? 0 : this.intervalMs;
    } catch (err) {
      if (this.stopped) return 0;
      if (err instanceof NotFoundError) {
        // The control plane lost the instance (TTL lapsed, or it restarted without it): register again at once.
        this.count('not_found');
        this.isRegistered = false;
        this.runtime.logger.info({ id: this.instance.id }, 'control plane no longer knows this instance; registering again');
        return 0;
      }
      this.count('error');
      this.failed('heartbeat', err);
      return Math.min(this.backoff.next(), this.intervalMs);
    }
  }

  private needsHeartbeat(): boolean {
    return this.status !== this.sentStatus || (this.status === 'critical' && this.reason !== this.sentReason);
  }

  private failed(what: 'register' | 'heartbeat', err: unknown): void {
    const retryable = isWeftError(err) ? err.retryable : true;
    if (!this.outage) {
      this.outage = true;
      const log = { id: this.instance.id, err: describe(err) };
      if (retryable) this.runtime.logger.warn(log, `${what} failed; retrying quietly until the control plane answers`);
      else this.runtime.logger.error(log, `${what} was refused; retrying quietly`);
    } else {
      this.runtime.logger.debug({ id: this.instance.id, err: describe(err) }, `${what} failed again`);
    }
  }

  private recovered(): void {
    if (!this.outage) return;
    this.outage = false;
    this.runtime.logger.info({ id: this.instance.id }, 'control plane answers again');
  }

  private count(result: HeartbeatResult): void {
    this.heartbeats.inc({ result });
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function heartbeatCounter(registry: Registry): Counter<'result'> {
  const name = 'weft_registration_heartbeats_total';
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing as Counter<'result'>;
  return new Counter({ name, help: 'Heartbeats sent to the control plane, by result (ok, not_found, error)', labelNames: ['result'], registers: [registry] });
}
