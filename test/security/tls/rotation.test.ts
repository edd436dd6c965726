// Tests: certificates and trust bundles swapped under steady keep-alive traffic through undici pools: no request fails.
import type { TLSSocket } from 'node:tls';
import { Pool, type buildConnector } from 'undici';
import { afterEach, expect, it } from 'vitest';
import { MtlsListener, mtlsConnector, WorkloadIdentity } from '../../../src/security/tls/index.js';
import { formatSpiffeId, spiffeId } from '../../../src/security/identity.js';
import { closeListener } from './mtls-fixture.js';
import { createRoot, issueLeaf, materialOf, type TestRoot } from './test-pki.js';

const FRONTEND = formatSpiffeId(spiffeId('weft.test', 'frontend'));
const API = formatSpiffeId(spiffeId('weft.test', 'api'));

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The api side: answers with the fingerprint of the client certificate its connection was opened with. */
async function startApi(identity: WorkloadIdentity): Promise<number> {
  const listener = new MtlsListener({
    mode: 'strict',
    identity,
    onRequest: (req, res) => {
      req.resume();
      res.end((req.socket as TLSSocket).getPeerCertificate().fingerprint256);
    },
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => closeListener(listener));
  return listener.address()?.port ?? 0;
}

interface Traffic {
  pool: Pool;
  /** Fingerprints of the server certificates seen in handshakes, in order. */
  serverCerts: string[];
  /** Client fingerprints the server reported, one per answered request, in order. */
  clientCerts: string[];
  failures: unknown[];
}

/** A keep-alive pool to the api as the frontend's sidecar would hold it, noting the server certificate of each handshake. */
function frontendPool(port: number, identity: WorkloadIdentity, connections: number): Traffic {
  const connector = mtlsConnector({ identity, expectedSpiffeId: API });
  const traffic: Traffic = { pool: undefined as unknown as Pool, serverCerts: [], clientCerts: [], failures: [] };
  // undici's Pool stands for any keep-alive client here: the connector under test is what opens its connections.
  const observed: buildConnector.connector = (options, callback) =>
    connector({ host: options.hostname, port: Number(options.port) }, (error, socket) => {
      if (error !== null || socket === null) {
        callback(error ?? new Error('no socket'), null);
        return;
      }
      traffic.serverCerts.push((socket as TLSSocket).getPeerCertificate().fingerprint256);
      callback(null, socket);
    });
  traffic.pool = new Pool(`http://127.0.0.1:${port}`, { connect: observed, connections, pipelining: 1, keepAliveTimeout: 30_000 });
  cleanups.push(() => traffic.pool.destroy());
  return traffic;
}

/** `count` requests, `concurrency` at a time, each bounded to 5 s; failures are collected, not thrown. */
async function send(traffic: Traffic, count: number, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      try {
        const { statusCode, body } = await traffic.pool.request({ path: '/', method: 'GET', headersTimeout: 5_000, bodyTimeout: 5_000 });
        const text = await body.text();
        if (statusCode === 200) traffic.clientCerts.push(text);
        else traffic.failures.push(statusCode);
      } catch (err) {
        traffic.failures.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function fingerprintOf(root: TestRoot, spiffeId: string): Promise<{ leaf: Awaited<ReturnType<typeof issueLeaf>>; fingerprint: string }> {
  const leaf = await issueLeaf(root, spiffeId);
  const { X509Certificate } = await import('node:crypto');
  return { leaf, fingerprint: new X509Certificate(leaf.certPem).fingerprint256 };
}

it('renews both sides\' certificates under steady traffic: nothing fails, old connections carry on, new handshakes show the new certificates', async () => {
  const root = await createRoot('weft test root');
  const apiOld = await fingerprintOf(root, API);
  const frontendOld = await fingerprintOf(root, FRONTEND);
  const api = new WorkloadIdentity(materialOf(apiOld.leaf, root));
  const frontend = new WorkloadIdentity(materialOf(frontendOld.leaf, root));
  const port = await startApi(api);
  // At most four keep-alive connections, opened with the old certificates.
  const established = frontendPool(port, frontend, 4);
  await send(established, 200, 4);
  expect(new Set(established.serverCerts)).toEqual(new Set([apiOld.fingerprint]));

  const apiNew = await fingerprintOf(root, API);
  const frontendNew = await fingerprintOf(root, FRONTEND);
  // The swap happens while requests are in flight on those connections.
  const during = send(established, 400, 4);
  await new Promise((resolve) => setTimeout(resolve, 20));
  api.update(materialOf(apiNew.leaf, root));
  frontend.update(materialOf(frontendNew.leaf, root));
  await during;
  const answeredAfterSwap = established.clientCerts.length;
  // New connections (a second pool, as after an endpoint change) run alongside the established ones.
  const fresh = frontendPool(port, frontend, 4);
  await Promise.all([send(established, 200, 4), send(fresh, 200, 4)]);

  expect(established.failures).toEqual([]);
  expect(fresh.failures).toEqual([]);
  expect(established.clientCerts).toHaveLength(800);
  expect(fresh.clientCerts).toHaveLength(200);
  // The established connections carried on with the certificates they were opened with.
  expect(established.clientCerts.slice(answeredAfterSwap)).toContain(frontendOld.fingerprint);
  // Every new handshake showed the new certificates, both ways.
  expect(fresh.serverCerts.length).toBeGreaterThan(0);
  expect(new Set(fresh.serverCerts)).toEqual(new Set([apiNew.fingerprint]));
  expect(new Set(fresh.clientCerts)).toEqual(new Set([frontendNew.fingerprint]));
});

it('moves both sides to a new root with old and new trusted meanwhile: nothing fails at any step', async () => {
  const oldRoot = await createRoot('root 2026');
  const newRoot = await createRoot('root 2027');
  const api = new WorkloadIdentity(materialOf(await issueLeaf(oldRoot, API), oldRoot));
  const frontend = new WorkloadIdentity(materialOf(await issueLeaf(oldRoot, FRONTEND), oldRoot));
  const port = await startApi(api);
  // One pool lives through every step on its first connections; each step also opens a fresh pool.
  const longLived = frontendPool(port, frontend, 2);
  await send(longLived, 50, 2);

  const steps: (() => Promise<void>)[] = [
    // 1. The new root is trusted alongside the old one before it signs anything.
    async () => {
      api.update({ ...api.current.material, trustBundle: oldRoot.certPem + newRoot.certPem });
      frontend.update({ ...frontend.current.material, trustBundle: oldRoot.certPem + newRoot.certPem });
    },
    // 2. Leaves move to the new root, one side after the other.
    async () => void api.update(materialOf(await issueLeaf(newRoot, API), oldRoot, newRoot)),
    async () => void frontend.update(materialOf(await issueLeaf(newRoot, FRONTEND), oldRoot, newRoot)),
    // 3. The old root is dropped.
    async () => {
      api.update({ ...api.current.material, trustBundle: newRoot.certPem });
      frontend.update({ ...frontend.current.material, trustBundle: newRoot.certPem });
    },
  ];
  const fresh: Traffic[] = [];
  for (const step of steps) {
    const during = send(longLived, 100, 2);
    await step();
    await during;
    const pool = frontendPool(port, frontend, 2);
    await send(pool, 50, 2);
    fresh.push(pool);
  }

  expect(longLived.failures).toEqual([]);
  expect(longLived.clientCerts).toHaveLength(450);
  for (const pool of fresh) expect(pool.failures).toEqual([]);
  // The last fresh pool ran with nothing but the new root on both sides.
  expect(fresh.at(-1)?.clientCerts).toHaveLength(50);
});
