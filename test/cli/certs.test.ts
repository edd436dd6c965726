// CLI: `weft certs`, `weft ca` and the CA flags of `weft control`, through the built command against a real control plane.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkloadCsr, generateWorkloadKey } from '../../src/security/workload-key.js';
import { runWeft, startWeft } from '../e2e/weft-cli.js';
import { freePort, stopAll, waitForHttp } from '../support/index.js';

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
