// Bench (registry): the anchor's watchers — W etcd prefix watches spread over several etcd3 clients (gRPC streams).
import { Etcd3 } from 'etcd3';
import { ETCD_PREFIX, wallNow } from './bench-instances.js';
import type { LatencyMatrix } from './latency-matrix.js';
import { scanTags } from './watch-line.js';
import type { WatcherSet } from './weft-watchers.js';
import type { WatchCounters } from './worker-messages.js';

const CREATE_BATCH = 100;

export async function openEtcdWatchers(
  endpoints: readonly string[],
  count: number,
  clientCount: number,
  matrix: LatencyMatrix,
  counters: WatchCounters,
): Promise<WatcherSet> {
  const clients = Array.from({ length: Math.min(clientCount, count) }, () => new Etcd3({ hosts: endpoints.map((h) => `http://${h}`) }));
  const create = async (index: number): Promise<void> => {
    const client = clients[index % clients.length]!;
    const watcher = await client.watch().prefix(ETCD_PREFIX).create();
    watcher.on('put', (kv) => {
      const receivedAt = wallNow();
      const value = kv.value.toString('utf8');
      counters.lines++;
      counters.bytes += value.length;
      for (const tag of scanTags(value)) matrix.record(index, tag, receivedAt);
    });
    watcher.on('disconnected', () => counters.reconnects++);
    watcher.on('error', (error: Error) => {
      counters.errors++;
      counters.firstError ??= error.message;
    });
  };
  for (let first = 0; first < count; first += CREATE_BATCH) {
    const batch: Promise<void>[] = [];
    for (let i = first; i < Math.min(count, first + CREATE_BATCH); i++) batch.push(create(i));
    await Promise.all(batch);
  }
  return {
    close() {
      for (const client of clients) client.close();
    },
  };
}
