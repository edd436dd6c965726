// Registry backends: an in-memory store for `weft control --dev` and tests; nothing survives the process.
import { randomUUID } from 'node:crypto';
import { WeftError } from '../../core/index.js';
import { checkCondition, type BackendEvent, type RegistryBackend, type Versioned, type WriteCondition } from '../backend.js';
import { ChangeFeed } from './change-feed.js';

export class MemoryBackend implements RegistryBackend {
  readonly storeId = randomUUID();
  private readonly entries = new Map<string, Versioned>();
  private rev = 0;
  private readonly feed = new ChangeFeed(0);
  private closed = false;

  async put(key: string, value: Uint8Array, condition?: WriteCondition): Promise<number> {
    this.assertOpen();
    checkCondition(key, this.entries.get(key)?.version ?? 0, condition);
    const version = ++this.rev;
    // Copy so that later mutation of the caller's buffer cannot change stored state.
    const stored = new Uint8Array(value);
    this.entries.set(key, { key, value: stored, version });
    this.feed.publish({ type: 'put', key, value: stored, version });
    return version;
  }

  async delete(key: string, condition?: WriteCondition): Promise<number> {
    this.assertOpen();
    checkCondition(key, this.entries.get(key)?.version ?? 0, condition);
    if (!this.entries.has(key)) return this.rev;
    const version = ++this.rev;
    this.entries.delete(key);
    this.feed.publish({ type: 'delete', key, version });
    return version;
  }

  async list(prefix: string): Promise<{ revision: number; items: Versioned[] }> {
    this.assertOpen();
    const items: Versioned[] = [];
    for (const entry of this.entries.values()) if (entry.key.startsWith(prefix)) items.push(entry);
    items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { revision: this.rev, items };
  }

  async get(key: string): Promise<Versioned | undefined> {
    this.assertOpen();
    return this.entries.get(key);
  }

  watch(prefix: string, fromVersion: number, signal: AbortSignal): AsyncIterable<BackendEvent> {
    this.assertOpen();
    return this.feed.watch(prefix, fromVersion, signal);
  }

  revision(): number {
    return this.rev;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.feed.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new WeftError('STORE_CLOSED', 'the memory store is closed');
  }
}
