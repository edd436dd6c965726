// Bench (registry): a load process that registers N instances with C concurrent keep-alive requests and times each.
import { Agent, request } from 'node:http';
import { Etcd3 } from 'etcd3';
import { etcdKey, instanceId, registration, storedInstance } from './bench-instances.js';
import { summarize } from './latency-stats.js';
import { authHeaders } from './weft-credentials.js';
import type { RegisterRequest, RegistrationResult } from './worker-messages.js';

async function register(job: RegisterRequest): Promise<RegistrationResult> {
  const latencies = new Float64Array(job.instances).fill(Number.NaN);
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  let put: (i: number) => Promise<void>;
  let close = async (): Promise<void> => undefined;
  if (job.target.kind === 'weft') {
    const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
    const base = job.target.url;
    const auth = authHeaders(job.target);
    put = (i) => putJson(agent, `${base}/api/v1/instances/${instanceId(i)}`, JSON.stringify(registration(i, job.services)), auth);
    close = async () => agent.destroy();
  } else {
    const client = new Etcd3({ hosts: job.target.endpoints.map((h) => `http://${h}`) });
    put = async (i) => {
      await client.put(etcdKey(i, job.services)).value(storedInstance(i, job.services));
    };
    close = async () => client.close();
  }
  const lane = async (): Promise<void> => {
    while (next < job.instances) {
      const i = next++;
      const started = performance.now();
      try {
        await put(i);
        latencies[i] = performance.now() - started;
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: job.concurrency }, lane));
  const seconds = (performance.now() - started) / 1000;
  await close();
  const requests = job.instances - errors;
  return { requests, errors, ...(firstError === undefined ? {} : { firstError }), seconds, requestsPerSec: requests / seconds, latencyMs: summarize(latencies) };
}

function putJson(agent: Agent, url: string, body: string, auth: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'PUT', agent, timeout: 30_000, headers: { ...auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else reject(new Error(`PUT ${url} -> ${status} ${text.slice(0, 200)}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`PUT ${url}: no reply within 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

process.once('message', (job: RegisterRequest) => {
  register(job).then(
    (result) => process.send?.({ type: 'registered', result }),
    (error: unknown) => process.send?.({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
  );
});
// The harness owns this process: without it there is nobody to report to.
process.once('disconnect', () => process.exit(0));
