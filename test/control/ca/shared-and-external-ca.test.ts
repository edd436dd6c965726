// Control CA: a managed root kept in the data dir across restarts; one CA and one issuance log for control planes sharing etcd; an outside intermediate (--ca-cert/--ca-key); stale records pruned.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IssuanceLog } from '../../../src/control/ca/index.js';
import { startControlPlane, type ControlPlane } from '../../../src/control/index.js';
import type { CertificateReply, IssuedCertificateRecord } from '../../../src/model/index.js';
import { MemoryBackend } from '../../../src/registry/index.js';
import { createWorkloadCsr, generateWorkloadKey } from '../../../src/security/workload-key.js';
import { createRuntime } from '../../../src/telemetry/index.js';
import { requireEtcd, startEtcd, type EtcdCluster } from '../../support/index.js';
import { makeOuterPki, splitChain, type OuterPki } from './outer-pki.js';

const runtime = () => createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) });
const etcdBinary = await requireEtcd();
let etcd: EtcdCluster | undefined;
let pki: OuterPki;
const planes: ControlPlane[] = [];

beforeAll(async () => {
  pki = await makeOuterPki();
});
afterEach(async () => {
  for (const plane of planes.splice(0)) await plane.close();
});
afterAll(async () => {
  await etcd?.close();
  await pki.dir.remove();
});

async function start(options: Partial<Parameters<typeof startControlPlane>[0]> = {}): Promise<ControlPlane> {
  const plane = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dev: true, runtime: runtime(), ...options });
  planes.push(plane);
  return plane;
}

async function call(plane: ControlPlane, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(plane.url + path, {
    method,
    signal: AbortSignal.timeout(10_000),
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function issue(plane: ControlPlane, trustDomain: string, service: string, sidecar?: string): Promise<CertificateReply> {
  const csr = await createWorkloadCsr(await generateWorkloadKey(), `spiffe://${trustDomain}/service/${service}`);
  const reply = await call(plane, 'POST', '/api/v1/certificates', { service, csr, ...(sidecar === undefined ? {} : { sidecar }) });
  expect(reply.status).toBe(201);
  return reply.json as unknown as CertificateReply;
}

describe('the embedded store', () => {
  it('keeps the managed root in the data dir, so a restart serves the same trust bundle', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'weft-ca-data-'));
    try {
      const first = await start({ dev: false, dataDir, trustDomain: 'kept.test' });
      const roots = (await call(first, 'GET', '/api/v1/trust-bundle')).json.roots as string[];
      expect(roots).toHaveLength(1);
      expect((await stat(join(dataDir, 'ca'))).isDirectory()).toBe(true);
      await planes.pop()!.close();
      const second = await start({ dev: false, dataDir, trustDomain: 'kept.test' });
      expect((await call(second, 'GET', '/api/v1/trust-bundle')).json.roots).toEqual(roots);
      await planes.pop()!.close();
      // The stored CA belongs to its trust domain: another one refuses to start rather than mint a second root.
      await expect(start({ dev: false, dataDir, trustDomain: 'other.test' })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('kept.test') });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(etcdBinary === undefined)('control planes on one etcd', () => {
  it('share one CA, see each other’s issued certificates, and follow a rotation made by the other', async () => {
    etcd ??= await startEtcd(etcdBinary!);
    const store = `etcd://${etcd.endpoints}/ca-shared/`;
    const a = await start({ store });
    const b = await start({ store });
    const rootsA = (await call(a, 'GET', '/api/v1/trust-bundle')).json.roots;
    expect((await call(b, 'GET', '/api/v1/trust-bundle')).json.roots).toEqual(rootsA);

    const fromA = await issue(a, 'weft.local', 'api', 'api-0001');
    const fromB = await issue(b, 'weft.local', 'billing');
    for (const plane of [a, b]) {
      const listed = (await call(plane, 'GET', '/api/v1/certificates')).json.certificates as IssuedCertificateRecord[];
      expect(listed.map((r) => [r.service, r.sidecar, r.serial])).toEqual([
        ['api', 'api-0001', fromA.serial],
        ['billing', `billing/${fromB.serial}`, fromB.serial],
      ]);
    }
    // The issuance records sit beside the registry's keys without becoming instances or policies.
    expect((await call(b, 'GET', '/api/v1/services')).json).toMatchObject({ services: [] });

    await call(a, 'POST', '/api/v1/ca/rotate');
    let phase: unknown;
    for (let i = 0; i < 100 && phase !== 'new-root-trusted'; i++) {
      phase = (await call(b, 'GET', '/api/v1/ca')).json.phase;
      if (phase !== 'new-root-trusted') await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(phase).toBe('new-root-trusted');
    expect((await call(b, 'GET', '/api/v1/trust-bundle')).json.roots).toHaveLength(2);
  });
});

describe('an outside intermediate as the CA', () => {
  it('signs leaves that chain up to the outer root, and refuses to rotate', async () => {
    const plane = await start({ trustDomain: 'corp.test', ca: { certPath: pki.chainPath, keyPath: pki.keyPath } });
    const squash = (pem: string) => pem.replace(/\s/g, '');
    expect(((await call(plane, 'GET', '/api/v1/trust-bundle')).json.roots as string[]).map(squash)).toEqual([squash(pki.rootPem)]);
    const issued = await issue(plane, 'corp.test', 'api', 'api-0001');
    const { leaf, rest } = splitChain(issued.certificateChain);
    expect(rest.match(/BEGIN CERTIFICATE/g)?.length).toBeGreaterThanOrEqual(1);
    const verified = await pki.dir.verify(pki.rootPem, leaf, rest);
    expect(verified.ok, verified.output).toBe(true);
    const uri = await pki.dir.openssl(['x509', '-noout', '-ext', 'subjectAltName', '-in', await pki.dir.write('leaf.pem', leaf)]);
    expect(uri.output).toContain('URI:spiffe://corp.test/service/api');

    expect((await call(plane, 'GET', '/api/v1/ca')).json).toMatchObject({ source: 'external', phase: 'steady' });
    const rotate = await call(plane, 'POST', '/api/v1/ca/rotate');
    expect(rotate).toMatchObject({ status: 409, json: { code: 'CONFLICT', message: expect.stringContaining('--ca-cert') } });
  });

  it('fails the start cleanly when the files cannot serve, naming the flag', async () => {
    await expect(start({ ca: { certPath: pki.dir.path('missing.pem'), keyPath: pki.keyPath } })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('--ca-cert'),
    });
    await expect(start({ ca: { certPath: pki.chainPath, keyPath: pki.dir.path('root.key') } })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('issuance log', () => {
  it('drops records an hour past their expiry and keeps the rest, sorted by service then sidecar', async () => {
    let now = Date.parse('2026-01-01T12:00:00Z');
    const log = new IssuanceLog(new MemoryBackend(), () => now);
    const record = (service: string, sidecar: string, notAfter: string): IssuedCertificateRecord => ({
      sidecar, service, spiffeId: `spiffe://weft.local/service/${service}`, serial: sidecar, notBefore: '2026-01-01T00:00:00Z', notAfter, signedBy: 'r1', issuedAt: '2026-01-01T00:00:00Z',
    });
    await log.record(record('web', 'w1', '2026-01-01T13:00:00Z'));
    await log.record(record('api', 'a2', '2026-01-01T11:30:00Z')); // expired half an hour ago: still listed
    await log.record(record('api', 'a1', '2026-01-01T10:59:00Z')); // expired more than an hour ago
    expect((await log.list()).map((r) => r.sidecar)).toEqual(['a2', 'w1']);
    now += 3_600_000;
    expect((await log.list()).map((r) => r.sidecar)).toEqual(['w1']);
  });
});
