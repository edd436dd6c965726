// Proxy: whole sidecars in-process against a non-dev control plane — not ready until certified, mTLS between them, and static stability once the control plane is gone (renewal keeps retrying).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveProxyConfig } from '../../src/config/index.js';
import { startControlPlane, type ControlPlane } from '../../src/control/index.js';
import { startSidecar, type Sidecar } from '../../src/proxy/index.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { HttpClient, pollUntil } from '../e2e/weft-cli.js';
import { startServer, type TestServer } from './request-path-fixtures.js';

const runtime = (name: string) => createRuntime({ name, logger: pino({ level: 'silent' }) });

describe('sidecars with certificates from a non-dev control plane', () => {
  let dir: string;
  let control: ControlPlane;
  let app: TestServer;
  let greeter: Sidecar;
  let client: Sidecar;
  let controlClosed = false;
  const http = new HttpClient();
  const url = (address: { host: string; port: number }, path: string): string => `http://${address.host}:${address.port}${path}`;
  const hello = () => http.send(url(client.outbound, '/hello'), { headers: { host: 'greeter' } });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-sidecar-mtls-'));
    control = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dataDir: dir, runtime: runtime('control'), certLifetimeMs: 10_000 });
    // A control plane with API authentication makes an admin token on first start: the sidecars show it until certified.
    const tokenFile = join(dir, 'admin.token');
    const env = existsSync(tokenFile) ? { WEFT_TOKEN: (await readFile(tokenFile, 'utf8')).trim() } : {};
    app = await startServer((req, res) => {
      req.resume();
      res.end(`hello from the app, source ${String(req.headers['x-weft-source'])}`);
    });
    const sidecar = (service: string, appPort?: number) =>
      startSidecar(
        resolveProxyConfig(
          { security: { trustBundleRefreshMs: 200 } },
          { service, control: control.url, ...(appPort === undefined ? {} : { appPort }), outbound: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, healthIntervalMs: 200, drainMs: 0 },
          env,
        ),
        runtime(`proxy-${service}`),
      );
    greeter = await sidecar('greeter', app.port);
    client = await sidecar('client');
    await pollUntil('the client to reach the greeter', 20_000, async () => ((await hello()).status === 200 ? true : undefined));
  }, 40_000);

  afterAll(async () => {
    http.close();
    await Promise.all([greeter?.stop(), client?.stop()]);
    if (!controlClosed) await control?.close();
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is ready with a certificate, and calls the strict greeter over mTLS', async () => {
    for (const sidecar of [greeter, client]) {
      expect((await http.send(url(sidecar.admin, '/ready'))).status).toBe(200);
      const certs = JSON.parse((await http.send(url(sidecar.admin, '/certs'))).body) as { spiffeId: string };
      expect(certs.spiffeId).toMatch(/^spiffe:\/\/[a-z0-9.-]+\/service\/(greeter|client)$/);
    }
    expect((await hello()).body).toBe('hello from the app, source client');
    const metrics = (await http.send(url(greeter.admin, '/metrics'))).body;
    expect(metrics).toMatch(/weft_proxy_requests_total\{direction="inbound",source="client",destination="greeter",code="200"/);
    // The greeter's inbound port refuses plaintext: the mesh default outside --dev is strict.
    const plain = await http.send(url(greeter.inbound!, '/hello')).then((reply) => reply.status, () => 'refused');
    expect(plain).toBe('refused');
  });

  it('keeps serving when the control plane is gone, and keeps retrying the renewal', async () => {
    await control.close();
    controlClosed = true;
    const renewalFailures = async (admin: { host: string; port: number }): Promise<number> => {
      const text = (await http.send(url(admin, '/metrics'))).body;
      return Number(text.match(/^weft_proxy_certificate_renewals_total\{outcome="failure"\} (\d+)/m)?.[1] ?? 0);
    };
    // A 10 s certificate is due at about 6.7 s; until then and after, requests go on over the certificates held.
    const statuses: number[] = [];
    await pollUntil('a failed renewal on both sidecars', 15_000, async () => {
      statuses.push((await hello()).status);
      return (await renewalFailures(greeter.admin)) >= 1 && (await renewalFailures(client.admin)) >= 1 ? true : undefined;
    });
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect((await hello()).status).toBe(200);
    expect((await http.send(url(client.admin, '/ready'))).status).toBe(200);
  }, 30_000);
});
