// etcd store: a RegistryBackend on a real etcd cluster — keys under a prefix, revisions are etcd's, changes arrive by etcd watch.
import { randomUUID } from 'node:crypto';
import { Etcd3, type IKeyValue, type IWatchResponse, type Watcher } from 'etcd3';
import { WeftError, type Clock, type Runtime } from '../../../core/index.js';
import { VersionConflictError, type BackendEvent, type RegistryBackend, type Versioned, type WriteCondition } from '../../backend.js';
import type { Liveness } from '../../liveness.js';
import { EtcdLiveness } from './etcd-liveness.js';
import type { EtcdLocation } from './etcd-url.js';

/** Beside the prefix, not under it, so that no list or watch of the store's keys ever sees it. */
const storeIdKey = (prefix: string) => `${prefix.replace(/\/$/, '')}.store-id`;
/** Unary calls get a deadline: without one, the first call after a leader loss can hang for many seconds. */
const CALL_DEADLINE_MS = 2_000;

export class EtcdBackend implements RegistryBackend {
  private latest = 0;
  private closed = false;

  private constructor(
    readonly client: Etcd3,
    readonly prefix: string,
    readonly storeId: string,
    private readonly runtime: Runtime,
  ) {}

  /** Connects, and reads (or creates, exactly once across control planes) the store's identity. */
  static async open(location: EtcdLocation, runtime: Runtime): Promise<EtcdBackend> {
    const client = new Etcd3({
      hosts: [...location.hosts],
      dialTimeout: 2_000,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
    });
    try {
      const key = storeIdKey(location.prefix);
      const candidate = randomUUID();
      const txn = await client.if(key, 'Create', '==', 0).then(client.put(key).value(candidate)).else(client.get(key)).commit();
      const existing = txn.responses[0]?.response_range?.kvs[0]?.value.toString();
      const backend = new EtcdBackend(client, location.prefix, txn.succeeded ? candidate : (existing ?? candidate), runtime);
      backend.observe(Number(txn.header.revision));
      runtime.logger.info({ hosts: location.hosts, prefix: location.prefix, storeId: backend.storeId }, 'etcd store opened');
      return backend;
    } catch (error) {
      client.close();
      throw unavailable(location.hosts.join(','), error);
    }
  }

  async put(key: string, value: Uint8Array, condition?: WriteCondition): Promise<number> {
    this.assertOpen();
    const full = this.prefix + key;
    const bytes = Buffer.from(value);
    try {
      if (condition?.ifVersion === undefined) return this.observe(Number((await this.client.put(full).value(bytes)).header.revision));
      const txn = await this.client.if(full, 'Mod', '==', condition.ifVersion).then(this.client.put(full).value(bytes)).else(this.client.get(full)).commit();
      if (!txn.succeeded) throw new VersionConflictError(key, condition.ifVersion, modRevisionOf(txn.responses[0]?.response_range?.kvs[0]));
      return this.observe(Number(txn.header.revision));
    } catch (error) {
      throw this.translate(error);
    }
  }

  async delete(key: string, condition?: WriteCondition): Promise<number> {
    this.assertOpen();
    const full = this.prefix + key;
    try {
      if (condition?.ifVersion === undefined) return this.observe(Number((await this.client.delete().key(full).exec()).header.revision));
      const txn = await this.client.if(full, 'Mod', '==', condition.ifVersion).then(this.client.delete().key(full)).else(this.client.get(full)).commit();
      if (!txn.succeeded) throw new VersionConflictError(key, condition.ifVersion, modRevisionOf(txn.responses[0]?.response_range?.kvs[0]));
      return this.observe(Number(txn.header.revision));
    } catch (error) {
      throw this.translate(error);
    }
  }

  async list(prefix: string): Promise<{ revision: number; items: Versioned[] }> {
    this.assertOpen();
    try {
      const reply = await this.client.getAll().prefix(this.prefix + prefix).exec();
      const items = reply.kvs
        .map((kv) => ({ key: kv.key.toString().slice(this.prefix.length), value: new Uint8Array(kv.value), version: Number(kv.mod_revision) }))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      return { revision: this.observe(Number(reply.header.revision)), items };
    } catch (error) {
      throw this.translate(error);
    }
  }

  async get(key: string): Promise<Versioned | undefined> {
    this.assertOpen();
    try {
      const reply = await this.client.get(this.prefix + key).exec();
      const kv = reply.kvs[0];
      this.observe(Number(reply.header.revision));
      return kv === undefined ? undefined : { key, value: new Uint8Array(kv.value), version: Number(kv.mod_revision) };
    } catch (error) {
      throw this.translate(error);
    }
  }

  /**
   * Follows etcd's watch from fromVersion + 1. The client library reconnects and resumes by itself across
   * member failures; a watch that etcd ends (e.g. the start revision was compacted) ends this iterable with
   * an error, and the registry reloads.
   */
  async *watch(prefix: string, fromVersion: number, signal: AbortSignal): AsyncIterable<BackendEvent> {
    this.assertOpen();
    const queue: BackendEvent[] = [];
    let failure: unknown;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    let watcher: Watcher;
    try {
      watcher = await this.client
        .watch()
        .prefix(this.prefix + prefix)
        .startRevision(String(fromVersion + 1))
        .create();
    } catch (error) {
      throw this.translate(error);
    }
    watcher.on('data', (res: IWatchResponse) => {
      for (const event of res.events) {
        const key = event.kv.key.toString().slice(this.prefix.length);
        const version = Number(event.kv.mod_revision);
        this.observe(version);
        queue.push(event.type === 'Put' ? { type: 'put', key, value: new Uint8Array(event.kv.value), version } : { type: 'delete', key, version });
      }
      notify();
    });
    watcher.on('error', (error: Error) => {
      failure = error;
      notify();
    });
    const onAbort = () => notify();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        const event = queue.shift();
        if (event) {
          yield event;
          continue;
        }
        if (failure !== undefined) throw this.translate(failure);
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      await watcher.cancel().catch(() => undefined);
    }
  }

  revision(): number {
    return this.latest;
  }

  liveness(clock: Clock): Liveness {
    return new EtcdLiveness(this, clock, this.runtime);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }

  /** Remembers the newest revision seen and returns it. */
  observe(revision: number): number {
    if (revision > this.latest) this.latest = revision;
    return revision;
  }

  translate(error: unknown): WeftError {
    if (error instanceof WeftError) return error;
    return unavailable(this.prefix, error);
  }

  private assertOpen(): void {
    if (this.closed) throw new WeftError('STORE_CLOSED', 'the etcd store is closed');
  }
}

function modRevisionOf(kv: IKeyValue | undefined): number {
  return kv ? Number(kv.mod_revision) : 0;
}

function unavailable(where: string, error: unknown): WeftError {
  const reason = error instanceof Error ? error.message : String(error);
  return new WeftError('STORE_UNAVAILABLE', `etcd (${where}) is unavailable: ${reason}`, { retryable: true, cause: error });
}
