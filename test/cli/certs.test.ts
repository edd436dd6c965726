// CLI: `weft certs`, `weft ca` and the CA flags of `weft control` (an outside PKI's intermediate among them), through the built command against a real control plane.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkloadCsr, generateWorkloadKey } from '../../src/security/workload-key.js';
import { adminTokenOf, runWeft, startWeft } from '../e2e/weft-cli.js';
import { makeOuterPki, splitChain, type OuterPki } from '../control/ca/outer-pki.js';
import { freePort, stopAll, stopProcess, waitForHttp, type ManagedProcess } from '../support/index.js';

let control: string;

beforeAll(async () => {
  const port = await freePort();
  control = `http://127.0.0.1:${port}`;
  const proc = startWeft('control', ['control', '--dev', '--listen', `127.0.0.1:${port}`, '--trust-domain', 'cli.test', '--cert-ttl', '30s']);
  await waitForHttp(`${control}/healthz`, 20_000, { process: proc });
});
afterAll(() => stopAll());

async function issue(service: string, sidecar: string): Promise<{ serial: string; notAfter: string; notBefore: string }> {
  const csr = await createWorkloadCsr(await generateWorkloadKey(), `spiffe://cli.test/service/${service}`);
  const res = await fetch(`${control}/api/v1/certificates`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ service, csr, sidecar, instance: `${service}-1` }) });
  expect(res.status).toBe(201);
  return (await res.json()) as { serial: string; notAfter: string; notBefore: string };
}

describe('weft certs and weft ca', () => {
  it('lists what each sidecar holds, with --cert-ttl as the lifetime', async () => {
    const api = await issue('api', 'api-aaaa0001');
    await issue('billing', 'billing-bbbb0002');
    expect(Date.parse(api.notAfter) - Date.parse(api.notBefore)).toBe(30_000 + 60_000);
    const table = await runWeft(['certs', '--control', control]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SERVICE\s+SIDECAR\s+INSTANCE\s+SERIAL\s+SIGNED-BY\s+EXPIRES$/);
    expect(lines[1]).toMatch(new RegExp(`^api\\s+api-aaaa0001\\s+api-1\\s+${api.serial}\\s+\\S+\\s+${api.notAfter.replace(/\./g, '\\.')} \\(in \\d+s\\)$`));
    expect(lines[2]).toMatch(/^billing\s+billing-bbbb0002\s+billing-1\s/);
    const json = JSON.parse((await runWeft(['certs', '--control', control, '--json'])).stdout) as { certificates: { sidecar: string }[] };
    expect(json.certificates.map((c) => c.sidecar)).toEqual(['api-aaaa0001', 'billing-bbbb0002']);
  });

  it('walks a root rotation step by step', async () => {
    const status = await runWeft(['ca', 'status', '--control', control]);
    expect(status.stdout).toMatch(/^trust domain cli\.test, managed CA, phase steady/);
    expect(status.stdout.trim().split('\n')).toHaveLength(3); // summary, header, one root
    const early = await runWeft(['ca', 'retire', '--control', control]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/\[CONFLICT\]/);
    expect((await runWeft(['ca', 'rotate', '--control', control])).stdout).toMatch(/phase new-root-trusted/);
    expect((await runWeft(['ca', 'activate', '--control', control])).stdout).toMatch(/phase new-root-signing/);
    const retired = await runWeft(['ca', 'retire', '--control', control, '--json']);
    expect(JSON.parse(retired.stdout)).toMatchObject({ phase: 'steady', authorities: [expect.objectContaining({ signing: true })] });
  });

  it('refuses bad CA flags with exit 2, naming the flag', async () => {
    const halfPair = await runWeft(['control', '--dev', '--listen', '127.0.0.1:0', '--ca-cert', 'x.pem']);
    expect(halfPair.code).toBe(2);
    expect(halfPair.stderr).toContain('--ca-cert needs --ca-key');
    const domain = await runWeft(['control', '--dev', '--listen', '127.0.0.1:0', '--trust-domain', 'Bad Domain']);
    expect(domain.code).toBe(2);
    expect(domain.stderr).toMatch(/--trust-domain/);
    const ttl = await runWeft(['control', '--dev', '--listen', '127.0.0.1:0', '--cert-ttl', '5s']);
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toMatch(/--cert-ttl.*at least 10s/);
  });
});

describe('weft control --ca-cert/--ca-key', () => {
  let pki: OuterPki;
  beforeAll(async () => {
    pki = await makeOuterPki();
  });
  afterAll(() => pki.dir.remove());

  it('signs with the outside intermediate: leaves chain to the outer root, and weft ca says so', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const proc = startWeft('control-external', ['control', '--dev', '--listen', `127.0.0.1:${port}`, '--trust-domain', 'corp.test', '--ca-cert', pki.chainPath, '--ca-key', pki.keyPath]);
    await waitForHttp(`${url}/healthz`, 20_000, { process: proc });
    const csr = await createWorkloadCsr(await generateWorkloadKey(), 'spiffe://corp.test/service/api');
    const res = await fetch(`${url}/api/v1/certificates`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ service: 'api', csr, sidecar: 'api-0001' }) });
    expect(res.status).toBe(201);
    const { leaf, rest } = splitChain(((await res.json()) as { certificateChain: string }).certificateChain);
    const verified = await pki.dir.verify(pki.rootPem, leaf, rest);
    expect(verified.ok, verified.output).toBe(true);
    expect((await runWeft(['ca', 'status', '--control', url])).stdout).toMatch(/^trust domain corp\.test, external CA, phase steady/);
    const rotate = await runWeft(['ca', 'rotate', '--control', url]);
    expect(rotate.code).toBe(1);
    expect(rotate.stderr).toMatch(/--ca-cert.*\[CONFLICT\]/);
  });

  it('refuses files that cannot serve with exit 2, naming the flag and the file', async () => {
    const missing = await runWeft(['control', '--dev', '--listen', '127.0.0.1:0', '--ca-cert', pki.dir.path('missing.pem'), '--ca-key', pki.keyPath]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--ca-cert at ${pki.dir.path('missing.pem')}: expected a readable file`);
    const wrongKey = await runWeft(['control', '--dev', '--listen', '127.0.0.1:0', '--ca-cert', pki.chainPath, '--ca-key', pki.dir.path('root.key')]);
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toContain(`--ca-key ${pki.dir.path('root.key')}: expected the private key of the certificate`);
  });
});

describe('the CA behind API authentication (no --dev)', () => {
  it('signs for a join token of the service only, and rotates for an admin only', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'weft-certs-auth-'));
    let proc: ManagedProcess | undefined;
    try {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      proc = startWeft('control-auth', ['control', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir]);
      await waitForHttp(`${url}/healthz`, 20_000, { process: proc });
      const admin = { WEFT_TOKEN: await adminTokenOf(dataDir) };
      const created = await runWeft(['token', 'create', '--service', 'api', '--control', url], admin);
      expect(created.code, created.stderr).toBe(0);
      const joinToken = created.stdout.trim();
      const request = async (service: string, token: string) => {
        const csr = await createWorkloadCsr(await generateWorkloadKey(), `spiffe://weft.local/service/${service}`);
        return fetch(`${url}/api/v1/certificates`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ service, csr, sidecar: `${service}-1` }) });
      };
      expect((await request('api', joinToken)).status).toBe(201);
      expect((await request('billing', joinToken)).status).toBe(403);
      expect((await fetch(`${url}/api/v1/mesh`)).status).toBe(200);
      expect(await (await fetch(`${url}/api/v1/mesh`)).json()).toMatchObject({ mtlsDefault: 'strict', authRequired: true });
      const listed = await runWeft(['certs', '--control', url, '--json'], admin);
      expect(JSON.parse(listed.stdout)).toMatchObject({ certificates: [expect.objectContaining({ service: 'api', sidecar: 'api-1' })] });
      const byService = await runWeft(['ca', 'rotate', '--control', url, '--token', joinToken]);
      expect(byService.code).toBe(1);
      expect(byService.stderr).toMatch(/\[FORBIDDEN\]/);
      expect((await runWeft(['ca', 'rotate', '--control', url], admin)).stdout).toMatch(/phase new-root-trusted/);
    } finally {
      if (proc) await stopProcess(proc);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
