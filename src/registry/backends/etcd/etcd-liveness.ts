// etcd store: instance liveness as etcd leases — one lease per instance, attached to an `alive/<id>` key, renewable by any control plane.
import type { IWatchResponse, Watcher } from 'etcd3';
import type { Clock, Runtime } from '../../../core/index.js';
import type { Liveness } from '../../liveness.js';
import type { EtcdBackend } from './etcd-backend.js';

const ALIVE_PREFIX = 'alive/';
/** etcd refuses leases shorter than its election timeout allows; 2 s is its floor with default settings. */
const MIN_LEASE_SECONDS = 2;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;

type KeepAliveStream = Awaited<ReturnType<EtcdBackend['client']['leaseClient']['leaseKeepAlive']>>;

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
  private stream: Promise<KeepAliveStream> | undefined;
  private readonly keepAliveWaiters = new Map<string, { resolve(ttl: number): void; reject(error: unknown): void }[]>();
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
    this.dropStream(new Error('liveness closed'));
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

  /**
   * One keep-alive of a lease by id; false when etcd no longer has it. Every keep-alive shares one long-lived
   * stream (etcd answers in order, each reply naming its lease), instead of opening a stream per heartbeat.
   */
  private async keepAlive(leaseId: string): Promise<boolean> {
    const stream = await this.keepAliveStream();
    return new Promise<boolean>((resolve, reject) => {
      // Only this keep-alive gives up: the stream and the others waiting on it stay (a late reply for the same
      // lease then answers the next keep-alive of that lease, which asks the same question).
      const timer = setTimeout(() => {
        const queue = this.keepAliveWaiters.get(leaseId);
        const at = queue?.indexOf(waiter) ?? -1;
        if (queue && at >= 0) queue.splice(at, 1);
        waiter.reject(new Error('lease keep-alive timed out'));
      }, KEEP_ALIVE_TIMEOUT_MS);
      const waiter = {
        resolve: (ttl: number) => {
          clearTimeout(timer);
          resolve(ttl > 0);
        },
        reject: (error: unknown) => {
          clearTimeout(timer);
          reject(this.backend.translate(error));
        },
      };
      let queue = this.keepAliveWaiters.get(leaseId);
      if (!queue) this.keepAliveWaiters.set(leaseId, (queue = []));
      queue.push(waiter);
      stream.write({ ID: leaseId });
    });
  }

  private keepAliveStream(): Promise<KeepAliveStream> {
    this.stream ??= this.backend.client.leaseClient.leaseKeepAlive().then((stream) => {
      stream.on('data', (reply: { ID: string; TTL: string }) => {
        const queue = this.keepAliveWaiters.get(reply.ID);
        const waiter = queue?.shift();
        if (queue && queue.length === 0) this.keepAliveWaiters.delete(reply.ID);
        waiter?.resolve(Number(reply.TTL));
      });
      const fail = (error: unknown) => this.dropStream(error);
      stream.on('error', fail);
      stream.on('end', () => fail(new Error('lease keep-alive stream ended')));
      return stream;
    });
    this.stream.catch(() => (this.stream = undefined));
    return this.stream;
  }

  /** Fails every pending keep-alive and forgets the stream, so the next heartbeat opens a fresh one. */
  private dropStream(error: unknown): void {
    const stream = this.stream;
    this.stream = undefined;
    const waiters = [...this.keepAliveWaiters.values()].flat();
    this.keepAliveWaiters.clear();
    for (const waiter of waiters) waiter.reject(error);
    void stream?.then((s) => s.end()).catch(() => undefined);
  }
}
