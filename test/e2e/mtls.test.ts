// E2E: mTLS between real sidecars under a non-dev control plane — certificates by CSR, strict inbound (openssl, plaintext refused), authorization by proven identity, certificate and CA rotation under traffic.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, stopAll, waitForHttp } from '../support/index.js';
import { applyYaml, GREETER_APP, HttpClient, pollUntil, runWeft, startWeft, type Reply } from './weft-cli.js';

interface Certs {
  spiffeId: string;
  serial: string;
  notAfter: string;
  renewAt: string;
  roots: string[];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** A raw TCP client: sends `text`, resolves with everything received before the server closed (bounded to 5 s). */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the server neither answered nor closed within 5 s'));
    }, 5_000);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(text);
  });
}

/** openssl s_client without a client certificate: one HTTP request, bounded to 10 s. */
function opensslClient(port: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-showcerts', '-ign_eof'],
      { timeout: 10_000 },
      (_err, stdout, stderr) => resolve({ stdout, stderr }),
    );
    child.stdin?.end('GET /hello HTTP/1.1\r\nHost: greeter\r\nConnection: close\r\n\r\n');
  });
}

describe('mTLS between real sidecars (non-dev control plane)', () => {
  let dir: string;
  let env: Record<string, string>;
  let control: string;
  let trustDomain: string;
  const http = new HttpClient();
  const admins: Record<'greeter1' | 'greeter2' | 'client', string> = { greeter1: '', greeter2: '', client: '' };
  let greeterInbound: number;
  let clientOutbound: string;

  const hello = (): Promise<Reply> => http.send(`${clientOutbound}/hello`, { headers: { host: 'greeter' } });
  const certs = async (admin: string): Promise<Certs> => JSON.parse((await http.send(`${admin}/certs`)).body) as Certs;
  const allCerts = async (): Promise<Certs[]> => Promise.all(Object.values(admins).map(certs));
  const authHeaders = (): Record<string, string> => (env.WEFT_TOKEN ? { authorization: `Bearer ${env.WEFT_TOKEN}` } : {});
  const caStep = async (step: 'rotate' | 'activate' | 'retire'): Promise<Reply> =>
    http.send(`${control}/api/v1/ca/${step}`, { method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders() }, body: '{}' });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-e2e-mtls-'));
    const [controlPort, inbound1, inbound2, admin1, admin2, outbound, clientAdmin] = await freePorts(7);
    control = `http://127.0.0.1:${controlPort}`;
    env = { WEFT_CONTROL: control };
    greeterInbound = inbound1!;
    clientOutbound = `http://127.0.0.1:${outbound}`;
    admins.greeter1 = `http://127.0.0.1:${admin1}`;
    admins.greeter2 = `http://127.0.0.1:${admin2}`;
    admins.client = `http://127.0.0.1:${clientAdmin}`;
    const dataDir = join(dir, 'data');
    // 12 s certificates renew every 8 s: rotations happen within the test's traffic.
    const controlProcess = startWeft('control', ['control', '--listen', `127.0.0.1:${controlPort}`, '--data-dir', dataDir, '--cert-ttl', '12s']);
    await waitForHttp(`${control}/healthz`, 15_000, { process: controlProcess });
    const tokenFile = join(dataDir, 'admin.token');
    if (existsSync(tokenFile)) env.WEFT_TOKEN = (await readFile(tokenFile, 'utf8')).trim();
    const mesh = JSON.parse((await http.send(`${control}/api/v1/mesh`)).body) as { trustDomain: string; mtlsDefault: string };
    expect(mesh.mtlsDefault).toBe('strict');
    trustDomain = mesh.trustDomain;

    const config = join(dir, 'sidecar.yaml');
    await writeFile(config, 'security:\n  trustBundleRefreshMs: 200\n');
    const sidecarEnv = env.WEFT_TOKEN ? { WEFT_TOKEN: env.WEFT_TOKEN } : {};
    for (const [id, inbound, admin] of [['greeter-1', inbound1, admin1], ['greeter-2', inbound2, admin2]] as const) {
      startWeft(
        id,
        ['run', '--service', 'greeter', '--id', id, '--control', control, '--config', config, '--inbound', `127.0.0.1:${inbound}`, '--outbound', '127.0.0.1:0',
          '--admin', `127.0.0.1:${admin}`, '--health-interval', '200', '--', process.execPath, GREETER_APP],
        { group: true, env: { ...sidecarEnv, INSTANCE: id } },
      );
    }
    startWeft('client', ['proxy', '--service', 'client', '--control', control, '--config', config, '--outbound', `127.0.0.1:${outbound}`, '--admin', `127.0.0.1:${clientAdmin}`], { env: sidecarEnv });
    await pollUntil('both greeters to answer the client', 30_000, async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const reply = await hello();
        if (reply.status !== 200) return undefined;
        seen.add((JSON.parse(reply.body) as { instance: string }).instance);
      }
      return seen.size === 2 ? true : undefined;
    });
  }, 90_000);

  afterAll(async () => {
    http.close();
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives every sidecar a certificate for its service, and shows it on /certs without the key', async () => {
    const [g1, g2, client] = await allCerts();
    expect(g1!.spiffeId).toBe(`spiffe://${trustDomain}/service/greeter`);
    expect(g2!.spiffeId).toBe(`spiffe://${trustDomain}/service/greeter`);
    expect(client!.spiffeId).toBe(`spiffe://${trustDomain}/service/client`);
    expect(g1!.roots).toHaveLength(1);
    const raw = (await http.send(`${admins.greeter1}/certs`)).body;
    expect(raw).not.toContain('PRIVATE KEY');
    const metrics = (await http.send(`${admins.greeter1}/metrics`)).body;
    expect(metrics).toMatch(/^weft_proxy_certificate_expiry_timestamp_seconds \d/m);
    expect(metrics).toMatch(/^weft_proxy_trust_bundle_roots 1$/m);
    // The greeter counted the client by its proven identity.
    expect(metrics).toMatch(/weft_proxy_requests_total\{direction="inbound",source="client",destination="greeter"/);
  });

  it('answers openssl over TLS 1.3 with the greeter\'s SPIFFE certificate, and serves nothing without a client certificate', async () => {
    const { stdout } = await opensslClient(greeterInbound);
    expect(stdout).toMatch(/TLSv1\.3/);
    const [leaf] = stdout.match(PEM_CERTIFICATE) ?? [];
    expect(leaf).toBeDefined();
    expect(new X509Certificate(leaf!).subjectAltName).toBe(`URI:spiffe://${trustDomain}/service/greeter`);
    expect(stdout).not.toMatch(/HTTP\/1\.1 200/);
    expect(stdout).not.toContain('hello');
  });

  it('closes a plaintext HTTP connection to the strict inbound port without serving it', async () => {
    const before = (await http.send(`${admins.greeter1}/metrics`)).body.match(/^weft_proxy_mtls_plaintext_refused_total (\d+)/m)?.[1];
    expect(await rawExchange(greeterInbound, 'GET /hello HTTP/1.1\r\nHost: greeter\r\n\r\n')).toBe('');
    const after = (await http.send(`${admins.greeter1}/metrics`)).body.match(/^weft_proxy_mtls_plaintext_refused_total (\d+)/m)?.[1];
    expect(Number(after)).toBe(Number(before ?? 0) + 1);
  });

  it('lets the client through an AuthorizationPolicy for services: [client] by its proven identity, and refuses it when not listed', async () => {
    const policy = (service: string) => `kind: AuthorizationPolicy\nservice: greeter\ndefault: deny\nrules:\n  - from: { services: [${service}] }\n`;
    expect((await applyYaml(dir, 'authz.yaml', policy('client'), env)).code).toBe(0);
    await pollUntil('the policy to reach the greeters', 10_000, async () => {
      const snapshots = await Promise.all([admins.greeter1, admins.greeter2].map(async (admin) => (await http.send(`${admin}/snapshot`)).body));
      return snapshots.every((text) => text.includes('AuthorizationPolicy')) ? true : undefined;
    });
    for (let i = 0; i < 4; i++) expect((await hello()).status).toBe(200);
    expect((await applyYaml(dir, 'authz.yaml', policy('someone-else'), env)).code).toBe(0);
    const refused = await pollUntil('the narrower policy to refuse the client', 10_000, async () => {
      const reply = await hello();
      return reply.status === 403 ? reply : undefined;
    });
    expect(refused.headers['x-weft-error']).toBe('FORBIDDEN');
    expect((await runWeft(['delete', 'policy', 'greeter', '--kind', 'AuthorizationPolicy'], env)).code).toBe(0);
    await pollUntil('requests to be admitted again', 10_000, async () => ((await hello()).status === 200 ? true : undefined));
  }, 40_000);

  it('renews every sidecar\'s certificate under steady traffic with no failed request', async () => {
    const before = await allCerts();
    const failures: string[] = [];
    // About 20 s of paced traffic: two or three renewals per sidecar at a 12 s TTL.
    for (let i = 0; i < 100; i++) {
      const started = Date.now();
      try {
        const reply = await hello();
        if (reply.status !== 200) failures.push(`status ${reply.status}: ${reply.body}`);
      } catch (error) {
        failures.push(String(error));
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 200 - (Date.now() - started))));
    }
    expect(failures).toEqual([]);
    const after = await allCerts();
    for (let i = 0; i < before.length; i++) expect(after[i]!.serial).not.toBe(before[i]!.serial);
    for (const admin of Object.values(admins)) {
      const metrics = (await http.send(`${admin}/metrics`)).body;
      expect(Number(metrics.match(/^weft_proxy_certificate_renewals_total\{outcome="success"\} (\d+)/m)?.[1])).toBeGreaterThanOrEqual(1);
      // Renewals prove the certificate held (a WeftCert assertion) and are accepted as such: none was refused.
      expect(Number(metrics.match(/^weft_proxy_certificate_renewals_total\{outcome="failure"\} (\d+)/m)?.[1])).toBe(0);
    }
  }, 60_000);

  it('rotates the CA through the API under steady traffic with no failed request', async () => {
    let stop = false;
    const failures: string[] = [];
    let sent = 0;
    const traffic = (async () => {
      for (let i = 0; i < 1_000 && !stop; i++) {
        try {
          const reply = await hello();
          if (reply.status !== 200) failures.push(`status ${reply.status}: ${reply.body}`);
        } catch (error) {
          failures.push(String(error));
        }
        sent++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      expect((await caStep('rotate')).status).toBe(200);
      await pollUntil('every sidecar to trust both roots', 15_000, async () => ((await allCerts()).every((c) => c.roots.length === 2) ? true : undefined));
      const activation = await caStep('activate');
      expect(activation.status).toBe(200);
      const newRoot = (JSON.parse(activation.body) as { authorities: { id: string; signing: boolean }[] }).authorities.find((a) => a.signing)!.id;
      const activated = await allCerts();
      // A certificate issued after activation hangs from the new root.
      await pollUntil('every sidecar to renew from the new root', 30_000, async () => {
        const now = await allCerts();
        return now.every((c, i) => c.serial !== activated[i]!.serial) ? true : undefined;
      });
      // The control plane's record of each sidecar's latest certificate: all three now hang from the new root.
      const issued = JSON.parse((await http.send(`${control}/api/v1/certificates`, { headers: authHeaders() })).body) as { certificates: { service: string; signedBy: string }[] };
      expect(issued.certificates.map((c) => c.service).sort()).toEqual(['client', 'greeter', 'greeter']);
      expect(issued.certificates.every((c) => c.signedBy === newRoot)).toBe(true);
      expect((await caStep('retire')).status).toBe(200);
      await pollUntil('every sidecar to trust the new root only', 15_000, async () => ((await allCerts()).every((c) => c.roots.length === 1) ? true : undefined));
      const [root] = (await allCerts())[0]!.roots;
      expect(activated[0]!.roots).toContain(root);
      // Traffic keeps going a little on the new root alone.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    } finally {
      stop = true;
      await traffic;
    }
    expect(sent).toBeGreaterThan(20);
    expect(failures).toEqual([]);
  }, 90_000);
});
