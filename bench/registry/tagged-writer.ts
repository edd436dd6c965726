// Bench (registry): the tagged writes of the fan-out phases — an update of an existing instance carrying its sequence number and send time.
import { Agent, request } from 'node:http';
import { Etcd3 } from 'etcd3';
import { etcdKey, instanceId, registration, storedInstance, taggedInstance, tagMeta } from './bench-instances.js';
import { authHeaders } from './weft-credentials.js';
import type { Target } from './worker-messages.js';

export interface TaggedWriter {
  /** Sends tagged write `seq`; resolves when the store acknowledged it. */
  write(seq: number): Promise<void>;
  close(): void;
}

export function taggedWriter(target: Target, instances: number, services: number, concurrency: number): TaggedWriter {
  if (target.kind === 'etcd') {
    const client = new Etcd3({ hosts: target.endpoints.map((h) => `http://${h}`) });
    return {
      async write(seq) {
        const i = taggedInstance(seq, instances);
        await client.put(etcdKey(i, services)).value(storedInstance(i, services, tagMeta(seq)));
      },
      close: () => client.close(),
    };
  }
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const auth = authHeaders(target);
  return {
    write(seq) {
      const i = taggedInstance(seq, instances);
      // Stamped as late as possible: the latency runs from here to each watcher.
      const body = JSON.stringify(registration(i, services, tagMeta(seq)));
      return new Promise((resolve, reject) => {
        const req = request(
          `${target.url}/api/v1/instances/${instanceId(i)}`,
          { method: 'PUT', agent, timeout: 30_000, headers: { ...auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            res.resume();
            res.on('end', () => ((res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`tagged write ${seq} -> ${res.statusCode}`))));
          },
        );
        req.on('timeout', () => req.destroy(new Error(`tagged write ${seq}: no reply within 30 s`)));
        req.on('error', reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}
