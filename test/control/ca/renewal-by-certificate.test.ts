// Control CA: a sidecar's path through the authenticated API — first certificate by join token, renewals proven by the certificate it holds, until a rotation retires its root.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../../src/control/index.js';
import type { CertificateReply, TokenCreatedReply } from '../../../src/model/index.js';
import { createWorkloadAssertion } from '../../../src/security/workload-assertion.js';
import { createWorkloadCsr, generateWorkloadKey, type WorkloadKey } from '../../../src/security/workload-key.js';
import { createRuntime } from '../../../src/telemetry/index.js';

const ID = 'spiffe://weft.local/service/api';
let plane: ControlPlane | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  await plane?.close();
  plane = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function call(method: string, path: string, authorization: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(plane!.url + path, {
    method,
    signal: AbortSignal.timeout(10_000),
    headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** The credential a sidecar sends once it holds a certificate: an assertion bound to this one request. */
function weftCert(key: WorkloadKey, issued: CertificateReply, method: string, path: string): string {
  return createWorkloadAssertion({ keyPem: key.privateKeyPem, certChainPem: issued.certificateChain }, { method, path, nowMs: Date.now() });
}

async function request(service: string, authorization: (key: WorkloadKey) => string): Promise<{ status: number; key: WorkloadKey; issued: CertificateReply }> {
  const key = await generateWorkloadKey();
  const reply = await call('POST', '/api/v1/certificates', authorization(key), { service, csr: await createWorkloadCsr(key, `spiffe://weft.local/service/${service}`), sidecar: `${service}-1` });
  return { status: reply.status, key, issued: reply.json as unknown as CertificateReply };
}

describe('certificates behind API authentication', () => {
  it('renews with the certificate held, for its own service only, and stops trusting a retired root at once', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'weft-ca-renewal-'));
    plane = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dataDir, runtime: createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) }) });
    const admin = `Bearer ${plane.adminToken!}`;
    const created = await call('POST', '/api/v1/tokens', admin, { kind: 'join', service: 'api' });
    expect(created.status).toBe(201);
    const joinToken = `Bearer ${(created.json as unknown as TokenCreatedReply).token}`;

    expect((await request('api', () => 'Bearer wt1.nope.nope')).status).toBe(401);
    const first = await request('api', () => joinToken);
    expect(first.status).toBe(201);
    expect(first.issued.spiffeId).toBe(ID);

    const path = '/api/v1/certificates';
    const renewed = await request('api', () => weftCert(first.key, first.issued, 'POST', path));
    expect(renewed.status).toBe(201);
    expect(renewed.issued.serial).not.toBe(first.issued.serial);
    expect((await request('billing', () => weftCert(renewed.key, renewed.issued, 'POST', path))).status).toBe(403);
    // A certificate is no admin credential.
    expect((await call('POST', '/api/v1/ca/rotate', weftCert(renewed.key, renewed.issued, 'POST', '/api/v1/ca/rotate'))).status).toBe(403);

    // Through a rotation: a certificate of the old root renews while both roots are trusted, and not after the old one retired.
    expect((await call('POST', '/api/v1/ca/rotate', admin)).json).toMatchObject({ phase: 'new-root-trusted' });
    expect((await call('POST', '/api/v1/ca/activate', admin)).json).toMatchObject({ phase: 'new-root-signing' });
    const underNewRoot = await request('api', () => weftCert(renewed.key, renewed.issued, 'POST', path));
    expect(underNewRoot.status).toBe(201);
    expect((await call('POST', '/api/v1/ca/retire', admin)).json).toMatchObject({ phase: 'steady' });
    expect((await request('api', () => weftCert(renewed.key, renewed.issued, 'POST', path))).status).toBe(401);
    expect((await request('api', () => weftCert(underNewRoot.key, underNewRoot.issued, 'POST', path))).status).toBe(201);
  });
});
