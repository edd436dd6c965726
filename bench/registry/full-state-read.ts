// Bench (registry): what a newcomer pays — one fresh watch (weft) or prefix range read (etcd) receiving the whole registry.
import { request } from 'node:http';
import { Etcd3 } from 'etcd3';
import { ETCD_PREFIX } from './bench-instances.js';
import { authHeaders } from './weft-credentials.js';
import type { Target } from './worker-messages.js';

export interface FullStateRead {
  /** 'complete': the whole state arrived; otherwise what stopped it. */
  outcome: 'complete' | 'cut off' | 'timeout' | 'error';
  ms: number;
  bytes: number;
  detail?: string;
}

export async function readFullState(target: Target, timeoutMs: number): Promise<FullStateRead> {
  const started = performance.now();
  if (target.kind === 'etcd') {
    const client = new Etcd3({ hosts: target.endpoints.map((h) => `http://${h}`) });
    try {
      const values = await client.getAll().prefix(ETCD_PREFIX).strings();
      let bytes = 0;
      for (const [key, value] of Object.entries(values)) bytes += key.length + value.length;
      return { outcome: 'complete', ms: performance.now() - started, bytes };
    } catch (error) {
      return { outcome: 'error', ms: performance.now() - started, bytes: 0, detail: error instanceof Error ? error.message : String(error) };
    } finally {
      client.close();
    }
  }
  return new Promise((resolve) => {
    let bytes = 0;
    let done = false;
    const finish = (outcome: FullStateRead['outcome'], detail?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ outcome, ms: performance.now() - started, bytes, ...(detail === undefined ? {} : { detail }) });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    const req = request(`${target.url}/api/v1/watch`, { agent: false, headers: authHeaders(target) }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return finish('error', `watch -> ${res.statusCode}`);
      }
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        // The first event is the reset with the whole state; its newline is the end of it.
        if (chunk.includes(10)) finish('complete');
      });
      res.on('close', () => finish('cut off', `stream closed after ${bytes} bytes without a complete first event`));
      res.on('error', () => undefined);
    });
    req.on('error', (error) => finish('error', error.message));
    req.end();
  });
}
