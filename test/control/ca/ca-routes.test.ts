// Control CA: the CA's routes on a real control plane — mesh facts, trust bundle, CSR signing checked by openssl, issued records, rotation.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { addCaRoutes, CaMetrics, ControlCa } from '../../../src/control/ca/index.js';
import { Router, type Principal } from '../../../src/control/http/index.js';
import { startControlPlane, type ControlPlane } from '../../../src/control/index.js';
import { systemClock } from '../../../src/core/index.js';
import type { CertificateReply } from '../../../src/model/index.js';
import { MemoryBackend } from '../../../src/registry/index.js';
import { createWorkloadCsr, generateWorkloadKey } from '../../../src/security/workload-key.js';
import { createRuntime } from '../../../src/telemetry/index.js';

const runtime = () => createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) });
const planes: ControlPlane[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const plane of planes.splice(0)) await plane.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function start(options: { trustDomain?: string; certLifetimeMs?: number } = {}): Promise<ControlPlane> {
  const plane = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dev: true, runtime: runtime(), ...options });
  planes.push(plane);
  return plane;
}

async function call(plane: ControlPlane, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(10_000) };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(plane.url + path, init);
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function csrFor(id: string): Promise<string> {
  return createWorkloadCsr(await generateWorkloadKey(), id);
}

describe('CA routes', () => {
  it('tells a sidecar the trust domain, the default mTLS mode and the trust bundle without credentials', async () => {
    const plane = await start({ trustDomain: 'prod.example' });
    const mesh = await call(plane, 'GET', '/api/v1/mesh');
    expect(mesh).toMatchObject({ status: 200, json: { trustDomain: 'prod.example', mtlsDefault: 'disabled', authRequired: false } });
    const bundle = await call(plane, 'GET', '/api/v1/trust-bundle');
    expect(bundle.status).toBe(200);
    expect(bundle.json.trustDomain).toBe('prod.example');
    expect(bundle.json.roots).toHaveLength(1);
    expect(String(bundle.json.pem)).toContain('BEGIN CERTIFICATE');
  });

  it('signs a CSR for the service named, and the chain verifies with openssl against the bundle', async () => {
    const plane = await start({ certLifetimeMs: 60_000 });
    const id = 'spiffe://weft.local/service/api';
    const reply = await call(plane, 'POST', '/api/v1/certificates', { service: 'api', csr: await csrFor(id), sidecar: 'api-0001', instance: 'api-1' });
    expect(reply.status).toBe(201);
    const issued = reply.json as unknown as CertificateReply;
    expect(issued.spiffeId).toBe(id);
    expect(Date.parse(issued.notAfter) - Date.parse(issued.notBefore)).toBe(60_000 + 60_000); // one minute backdated
    const dir = await mkdtemp(join(tmpdir(), 'weft-ca-routes-'));
    dirs.push(dir);
    await writeFile(join(dir, 'bundle.pem'), issued.trustBundle.pem);
    await writeFile(join(dir, 'leaf.pem'), issued.certificateChain);
    expect(execFileSync('openssl', ['verify', '-CAfile', join(dir, 'bundle.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' })).toContain('OK');
    const text = execFileSync('openssl', ['x509', '-in', join(dir, 'leaf.pem'), '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    expect(text).toContain(`URI:${id}`);

    const listed = await call(plane, 'GET', '/api/v1/certificates');
    expect(listed.json.certificates).toEqual([
      expect.objectContaining({ sidecar: 'api-0001', service: 'api', instance: 'api-1', spiffeId: id, serial: issued.serial, notAfter: issued.notAfter }),
    ]);
    // A renewal by the same sidecar replaces its record.
    const again = await call(plane, 'POST', '/api/v1/certificates', { service: 'api', csr: await csrFor(id), sidecar: 'api-0001' });
    const relisted = await call(plane, 'GET', '/api/v1/certificates');
    expect(relisted.json.certificates).toEqual([expect.objectContaining({ sidecar: 'api-0001', serial: (again.json as unknown as CertificateReply).serial })]);
  });

  it('refuses a CSR for another identity, garbage and malformed bodies with typed errors', async () => {
    const plane = await start();
    const other = await call(plane, 'POST', '/api/v1/certificates', { service: 'api', csr: await csrFor('spiffe://weft.local/service/billing') });
    expect(other).toMatchObject({ status: 403, json: { code: 'IDENTITY_MISMATCH' } });
    const garbage = await call(plane, 'POST', '/api/v1/certificates', { service: 'api', csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' });
    expect(garbage).toMatchObject({ status: 400, json: { code: 'CSR_REJECTED' } });
    expect(await call(plane, 'POST', '/api/v1/certificates', { service: 'API', csr: 'x' })).toMatchObject({ status: 400, json: { code: 'VALIDATION_FAILED', field: 'service' } });
    expect(await call(plane, 'POST', '/api/v1/certificates', { service: 'api', csr: 'x', extra: 1 })).toMatchObject({ status: 400, json: { code: 'VALIDATION_FAILED' } });
    expect(await call(plane, 'POST', '/api/v1/certificates', '{')).toMatchObject({ status: 400 });
    const metrics = await (await fetch(`${plane.url}/metrics`)).text();
    expect(metrics).toMatch(/weft_control_certificate_requests_refused_total\{reason="identity-mismatch"\} 1/);
    expect(metrics).toMatch(/weft_control_certificate_requests_refused_total\{reason="csr-rejected"\} 1/);
  });

  it('walks a rotation through the API: two roots trusted, the new one signing, the old one retired', async () => {
    const plane = await start();
    const before = await call(plane, 'GET', '/api/v1/ca');
    expect(before.json).toMatchObject({ source: 'managed', phase: 'steady' });
    const oldId = (before.json.authorities as { id: string }[])[0]!.id;
    expect(await call(plane, 'POST', '/api/v1/ca/activate')).toMatchObject({ status: 409, json: { code: 'CONFLICT' } });
    const rotated = await call(plane, 'POST', '/api/v1/ca/rotate');
    expect(rotated.json).toMatchObject({ phase: 'new-root-trusted' });
    expect((await call(plane, 'GET', '/api/v1/trust-bundle')).json.roots).toHaveLength(2);
    const signedOld = (await call(plane, 'POST', '/api/v1/certificates', { service: 'api', csr: await csrFor('spiffe://weft.local/service/api'), sidecar: 's1' })).json;
    expect(signedOld).toMatchObject({ spiffeId: 'spiffe://weft.local/service/api' });
    expect((await call(plane, 'GET', '/api/v1/certificates')).json.certificates).toEqual([expect.objectContaining({ signedBy: oldId })]);
    expect((await call(plane, 'POST', '/api/v1/ca/activate')).json).toMatchObject({ phase: 'new-root-signing' });
    await call(plane, 'POST', '/api/v1/certificates', { service: 'api', csr: await csrFor('spiffe://weft.local/service/api'), sidecar: 's1' });
    const newSigner = (await call(plane, 'GET', '/api/v1/certificates')).json.certificates as { signedBy: string }[];
    expect(newSigner[0]!.signedBy).not.toBe(oldId);
    expect((await call(plane, 'POST', '/api/v1/ca/retire')).json).toMatchObject({ phase: 'steady' });
    const bundle = (await call(plane, 'GET', '/api/v1/trust-bundle')).json.roots as string[];
    expect(bundle).toHaveLength(1);
    expect(await call(plane, 'POST', '/api/v1/ca/sideways')).toMatchObject({ status: 404 });
  });
});

describe('CA route permissions', () => {
  async function handlerCall(principal: Principal, method: string, path: string, body: unknown): Promise<unknown> {
    const ca = await ControlCa.open({ storage: { backend: new MemoryBackend() }, clock: systemClock }, new MemoryBackend(), pino({ level: 'silent' }));
    const rt = runtime();
    const router = new Router();
    addCaRoutes(router, ca, new CaMetrics(rt.metrics, ca.authority), { dev: false });
    const match = router.match(method, path);
    if (match.kind !== 'found') throw new Error(`no route ${path}`);
    const { Readable } = await import('node:stream');
    const req = Object.assign(Readable.from([Buffer.from(JSON.stringify(body))]), { headers: {} });
    try {
      return await match.handler({ req: req as never, res: undefined as never, params: match.params, url: new URL(path, 'http://x'), principal });
    } finally {
      ca.close();
    }
  }

  it('signs only for a caller that may act for the service, and rotates only for an admin', async () => {
    const csr = await csrFor('spiffe://weft.local/service/api');
    await expect(handlerCall({ kind: 'anonymous' }, 'POST', '/api/v1/certificates', { service: 'api', csr })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(handlerCall({ kind: 'service', service: 'billing', via: 'join-token' }, 'POST', '/api/v1/certificates', { service: 'api', csr })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(handlerCall({ kind: 'service', service: 'api', via: 'join-token' }, 'POST', '/api/v1/certificates', { service: 'api', csr })).resolves.toMatchObject({ status: 201 });
    await expect(handlerCall({ kind: 'service', service: 'api', via: 'certificate' }, 'POST', '/api/v1/ca/rotate', {})).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(handlerCall({ kind: 'admin', via: 'token' }, 'POST', '/api/v1/ca/rotate', {})).resolves.toMatchObject({ status: 200 });
  });
});
