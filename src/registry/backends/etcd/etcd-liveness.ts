// etcd store: instance liveness as etcd leases — one lease per instance, attached to an `alive/<id>` key, renewable by any control plane.
import type { IWatchResponse, Watcher } from 'etcd3';
import type { Clock, Runtime } from '../../../core/index.js';
import type { Liveness } from '../../liveness.js';
import type { EtcdBackend } from './etcd-backend.js';

const ALIVE_PREFIX = 'alive/';
/** etcd refuses leases shorter than its election timeout allows; 2 s is its floor with default settings. */
const MIN_LEASE_SECONDS = 2;

interface Entry {
  /** The etcd lease currently holding alive/<id>, as etcd reported it. */
  leaseId?: string;
  /** Whether alive/<id> exists in etcd, as far as this control plane has seen. */
  alive: boolean;
  /** Clock time at which the instance counts as lapsed while not alive. */
  lapsedAt: number;
}

/**
 * Every control plane on the store watches the alive/ keys: etcd deletes a key when its lease runs out, and
 * that delete is the lapse every control plane sees at once. A heartbeat to any replica keeps the lease alive
 * by its id; when the lease is gone (expired, or never granted) the heartbeat grants a new one.
 */
export class EtcdLiveness implements Liveness {
  private readonly entries = new Map<string, Entry>();
  private watcher: Watcher | undefined;
  private readonly started: Promise<void>;
  private closed = false;

  constructor(
    private readonly backend: EtcdBackend,
    private readonly clock: Clock,
    private readonly runtime: Runtime,
  ) {
    this.started = this.start();
    this.started.catch((error: unknown) => runtime.logger.error({ err: error }, 'etcd liveness watch failed to start'));
  }

  async renew(id: string, ttlMs: number): Promise<void> {
    await this.started;
    const entry = this.entries.get(id);
    if (entry?.leaseId !== undefined && entry.alive && (await this.keepAlive(entry.leaseId))) {
      entry.lapsedAt = Number.POSITIVE_INFINITY;
      return;
    }
    const client = this.backend.client;
    try {
      const granted = await client.leaseClient.leaseGrant({ TTL: Math.max(MIN_LEASE_SECONDS, Math.ceil(ttlMs / 1000)) });
      const reply = await client.put(this.key(id)).value(granted.ID).lease(granted.ID).exec();
      this.backend.observe(Number(reply.header.revision));
      this.entries.set(id, { leaseId: granted.ID, alive: true, lapsedAt: Number.POSITIVE_INFINITY });
    } catch (error) {
      throw this.backend.translate(error);
    }
  }

  async forget(id: string): Promise<void> {
    const entry = this.entries.get(id);
    this.entries.delete(id);
    const client = this.backend.client;
    try {
      if (entry?.leaseId !== undefined) await client.leaseClient.leaseRevoke({ ID: entry.leaseId });
      else await client.delete().key(this.key(id)).exec();
    } catch (error) {
      // The lease runs out by itself; a failed revoke only delays that.
      this.runtime.logger.debug({ err: error, id }, 'could not revoke an instance lease');
    }
  }

  track(id: string, ttlMs: number, now: number): void {
    if (!this.entries.has(id)) this.entries.set(id, { alive: false, lapsedAt: now + ttlMs });
  }

  untrack(id: string): void {
    this.entries.delete(id);
  }

  *lapsed(now: number): Generator<[string, number]> {
    for (const [id, entry] of this.entries) if (!entry.alive && entry.lapsedAt <= now) yield [id, entry.lapsedAt];
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.started.catch(() => undefined);
    await this.watcher?.cancel().catch(() => undefined);
  }

  private key(id: string): string {
    return this.backend.prefix + ALIVE_PREFIX + id;
  }

  private async start(): Promise<void> {
    const client = this.backend.client;
    const prefix = this.backend.prefix + ALIVE_PREFIX;
    const listed = await client.getAll().prefix(prefix).exec();
    for (const kv of listed.kvs) {
      this.entries.set(kv.key.toString().slice(prefix.length), { leaseId: kv.lease, alive: true, lapsedAt: Number.POSITIVE_INFINITY });
    }
    if (this.closed) return;
    this.watcher = await client.watch().prefix(prefix).startRevision(String(Number(listed.header.revision) + 1)).create();
    this.watcher.on('data', (res: IWatchResponse) => {
      const now = this.clock.now();
      for (const event of res.events) {
        const id = event.kv.key.toString().slice(prefix.length);
        if (event.type === 'Put') {
          this.entries.set(id, { leaseId: event.kv.lease, alive: true, lapsedAt: Number.POSITIVE_INFINITY });
        } else {
          const entry = this.entries.get(id);
          // A delete of an instance this control plane does not know is not its concern.
          if (entry) {
            entry.alive = false;
            entry.lapsedAt = now;
          }
        }
      }
    });
    this.watcher.on('error', (error: Error) => this.runtime.logger.error({ err: error }, 'etcd liveness watch ended'));
  }

  /** One keep-alive of a lease by id; false when etcd no longer has it. */
  private async keepAlive(leaseId: string): Promise<boolean> {
    const stream = await this.backend.client.leaseClient.leaseKeepAlive();
    try {
      const reply = await new Promise<{ TTL: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('lease keep-alive timed out')), 2_000);
        stream.on('data', (data: { TTL: string }) => {
          clearTimeout(timer);
          resolve(data);
        });
        stream.on('error', (error: Error) => {
          clearTimeout(timer);
          reject(error);
        });
        stream.write({ ID: leaseId });
      });
      return Number(reply.TTL) > 0;
    } catch (error) {
      throw this.backend.translate(error);
    } finally {
      stream.end();
    }
  }
}
