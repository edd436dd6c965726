// Tests: a workload's certificate from a real CA — bootstrap, renewal with a new serial, retries while the old one stays, the bundle refreshed, credentials by state.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NotFoundError, systemClock } from '../../src/core/index.js';
import type { CertificateReply, CertificateRequest, MeshReply, TrustBundleReply } from '../../src/model/index.js';
import { CertificateAuthority, FileCaStore } from '../../src/security/ca/index.js';
import { verifyWorkloadAssertion } from '../../src/security/workload-assertion-verify.js';
import { MeshTls } from '../../src/security/tls/index.js';
import { ControlUnavailableError, rootFingerprints, WorkloadCertificates, type CertificateClient } from '../../src/workload/index.js';
import { quietRuntime } from '../proxy/request-path-fixtures.js';

const TRUST_DOMAIN = 'mesh.test';
const dirs: string[] = [];
const stoppers: (() => void)[] = [];

afterEach(async () => {
  for (const stop of stoppers.splice(0)) stop();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** What the control plane's certificate routes do, over a real CA, with a switch to play unavailable. */
class CaClient implements CertificateClient {
  down = false;
  readonly requests: CertificateRequest[] = [];
  constructor(readonly ca: CertificateAuthority) {}

  async mesh(): Promise<MeshReply> {
    this.check();
    return { trustDomain: TRUST_DOMAIN, mtlsDefault: 'strict', authRequired: true };
  }

  async trustBundle(): Promise<TrustBundleReply> {
    this.check();
    const bundle = this.ca.trustBundle();
    return { trustDomain: TRUST_DOMAIN, pem: bundle.pem, roots: bundle.roots };
  }

  async requestCertificate(request: CertificateRequest): Promise<CertificateReply> {
    this.check();
    this.requests.push(request);
    const issued = await this.ca.sign(request.csr, request.service);
    return {
      spiffeId: issued.spiffeId,
      certificateChain: issued.fullChainPem,
      trustBundle: await this.trustBundle(),
      serial: issued.serialNumber,
      notBefore: issued.notBefore.toISOString(),
      notAfter: issued.notAfter.toISOString(),
    };
  }

  private check(): void {
    if (this.down) throw new ControlUnavailableError('http://127.0.0.1:1', 'connection refused');
  }
}

async function openCa(leafLifetimeMs: number): Promise<CertificateAuthority> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-certs-'));
  dirs.push(dir);
  return CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock: systemClock, store: new FileCaStore(dir), leafLifetimeMs });
}

function start(client: CertificateClient, options: { token?: string; trustBundleRefreshMs?: number } = {}): { certificates: WorkloadCertificates; mesh: MeshTls } {
  const mesh = new MeshTls({ connectTimeoutMs: 1_000 });
  const certificates = new WorkloadCertificates({ runtime: quietRuntime(), service: 'api', mesh, instanceId: () => 'api-1', ...options });
  stoppers.push(() => certificates.stop());
  certificates.start(client);
  return { certificates, mesh };
}

/** Polls `check` every 25 ms, at most `limitMs`. */
async function until(check: () => boolean, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (let i = 0; i < limitMs / 25 && !check(); i++) {
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  expect(check()).toBe(true);
}

describe('WorkloadCertificates', () => {
  it('gets a certificate for spiffe://<td>/service/<name> with a sidecar id and the instance, and shows facts but no key', async () => {
    const client = new CaClient(await openCa(3_600_000));
    const { certificates, mesh } = start(client, { token: 'join-secret' });
    expect(certificates.credentials('POST', '/api/v1/certificates')).toBe('Bearer join-secret');
    await until(() => certificates.settled());
    expect(certificates.sidecarId).toMatch(/^api-[0-9a-f]{8}$/);
    expect(client.requests[0]).toMatchObject({ service: 'api', sidecar: certificates.sidecarId, instance: 'api-1' });
    expect(mesh.identity).toBe(certificates.identity);
    expect(mesh.trustDomain).toBe(TRUST_DOMAIN);
    const info = certificates.info()!;
    expect(info.spiffeId).toBe(`spiffe://${TRUST_DOMAIN}/service/api`);
    expect(info.serial).toBe(certificates.serial);
    expect(Date.parse(info.renewAt)).toBeGreaterThan(Date.now());
    expect(info.roots).toEqual(rootFingerprints(client.ca.trustBundle().pem));
    expect(info.roots[0]).toBe(client.ca.status().authorities[0]?.fingerprint);
    expect(JSON.stringify(info)).not.toContain('PRIVATE KEY');

    // Once held, calls carry an assertion of the current certificate, bound to method and path.
    const header = certificates.credentials('GET', '/api/v1/watch?since=3')!;
    expect(header).toMatch(/^WeftCert /);
    const proven = await verifyWorkloadAssertion(header.slice('WeftCert '.length), { method: 'GET', path: '/api/v1/watch?since=3', nowMs: Date.now(), trustBundle: [...client.ca.trustBundle().roots], trustDomain: TRUST_DOMAIN });
    expect(proven.service).toBe('api');
    expect(proven.serial.toLowerCase()).toBe(certificates.serial.toLowerCase());
  });

  it('renews at 2/3 of a short lifetime with a new key and serial, and counts it', async () => {
    const client = new CaClient(await openCa(1_500));
    const { certificates } = start(client);
    await until(() => certificates.settled());
    const first = certificates.serial;
    const firstKey = certificates.identity!.current.material.key;
    await until(() => certificates.renewals.success >= 1, 5_000);
    expect(certificates.serial).not.toBe(first);
    expect(certificates.identity!.current.material.key).not.toBe(firstKey);
    expect(certificates.renewals.failure).toBe(0);
  });

  it('keeps the certificate held while renewals fail, retries with backoff, and renews once the control plane is back', async () => {
    const client = new CaClient(await openCa(1_500));
    const { certificates } = start(client);
    await until(() => certificates.settled());
    const held = certificates.identity!.current;
    client.down = true;
    await until(() => certificates.renewals.failure >= 2, 8_000);
    expect(certificates.identity!.current).toBe(held);
    client.down = false;
    await until(() => certificates.renewals.success >= 1, 15_000);
    expect(certificates.identity!.current.material.certChain).not.toBe(held.material.certChain);
  });

  it('retries the bootstrap until the control plane answers', async () => {
    const client = new CaClient(await openCa(3_600_000));
    client.down = true;
    const { certificates } = start(client);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(certificates.settled()).toBe(false);
    expect(certificates.info()).toBeNull();
    client.down = false;
    await until(() => certificates.settled(), 15_000);
  });

  it('takes a second root into the identity when the trust bundle changes, without a renewal', async () => {
    const client = new CaClient(await openCa(3_600_000));
    const { certificates } = start(client, { trustBundleRefreshMs: 100 });
    await until(() => certificates.settled());
    const serial = certificates.serial;
    await client.ca.rotate();
    await until(() => certificates.info()!.roots.length === 2, 5_000);
    expect(certificates.serial).toBe(serial);
    expect(certificates.info()!.roots).toEqual(rootFingerprints(client.ca.trustBundle().pem));
  });

  it('runs without mTLS when the control plane has no CA (no GET /mesh)', async () => {
    const client: CertificateClient = {
      mesh: () => Promise.reject(new NotFoundError('no route GET /api/v1/mesh')),
      trustBundle: () => Promise.reject(new NotFoundError('no route')),
      requestCertificate: () => Promise.reject(new NotFoundError('no route')),
    };
    const { certificates, mesh } = start(client);
    await until(() => certificates.settled());
    expect(certificates.unsupported).toBe(true);
    expect(mesh.defaultMode).toBe('disabled');
    expect(mesh.identity).toBeNull();
  });
});
