// Security CA: a managed root in the data dir (owner-only, reloaded unchanged) and workload certificates checked by openssl.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../../src/core/index.js';
import { BUNDLE_FILE, CA_DIR, CertificateAuthority, CsrRejectedError, FileCaStore, STATE_FILE } from '../../../src/security/ca/index.js';
import { IdentityInvalidError, IdentityMismatchError } from '../../../src/security/identity.js';
import { spiffeIdOfCertificate } from '../../../src/security/certificate-identity.js';
import { x509 } from '../../../src/security/ca/x509-provider.js';
import { OpensslDir, keyPair, makeCsr } from './pki-fixtures.js';

const TRUST_DOMAIN = 'mesh.test';
const API_ID = `spiffe://${TRUST_DOMAIN}/service/api`;
const dirs: string[] = [];
let openssl: OpensslDir;

beforeAll(async () => {
  openssl = await OpensslDir.create();
});
afterAll(async () => {
  await openssl.remove();
});
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-ca-'));
  dirs.push(dir);
  return dir;
}

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe('managed root in the data dir', () => {
  it('creates a P-256 root on first start, owner-only, and loads the same root on later starts', async () => {
    const dir = await dataDir();
    const first = await CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock: systemClock, store: new FileCaStore(dir) });
    expect(await mode(join(dir, CA_DIR))).toBe(0o700);
    expect(await mode(join(dir, CA_DIR, STATE_FILE))).toBe(0o600);
    expect(await mode(join(dir, CA_DIR, BUNDLE_FILE))).toBe(0o600);
    const stateBefore = await readFile(join(dir, CA_DIR, STATE_FILE), 'utf8');
    expect(stateBefore).toContain('BEGIN PRIVATE KEY');

    const [root] = first.trustBundle().roots;
    const text = (await openssl.openssl(['x509', '-noout', '-text', '-in', await openssl.write('root.pem', root as string)])).output;
    expect(text).toContain('ASN1 OID: prime256v1');
    expect(text).toMatch(/CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Certificate Sign, CRL Sign/);
    const cert = new x509.X509Certificate(root as string);
    const lifetimeDays = (cert.notAfter.getTime() - Date.now()) / 86_400_000;
    expect(lifetimeDays).toBeGreaterThan(364);
    expect(lifetimeDays).toBeLessThan(366);
    expect(await readFile(join(dir, CA_DIR, BUNDLE_FILE), 'utf8')).toBe(first.trustBundle().pem);

    const second = await CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock: systemClock, store: new FileCaStore(dir) });
    expect(second.trustBundle()).toEqual(first.trustBundle());
    expect(second.status().authorities.map((a) => a.fingerprint)).toEqual(first.status().authorities.map((a) => a.fingerprint));
    expect(await readFile(join(dir, CA_DIR, STATE_FILE), 'utf8')).toBe(stateBefore);
    // A leaf from the reloaded CA verifies against the root the first start made.
    const leaf = await second.sign(await makeCsr('P-256', [API_ID]), 'api');
    expect((await openssl.verify(first.trustBundle().pem, leaf.certificatePem)).ok).toBe(true);
  });

  it('tightens a data dir created with open permissions and honours a configured root lifetime', async () => {
    const dir = await dataDir();
    const { mkdir, chmod } = await import('node:fs/promises');
    await mkdir(join(dir, CA_DIR), { mode: 0o755 });
    await chmod(join(dir, CA_DIR), 0o755);
    const ca = await CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock: systemClock, store: new FileCaStore(dir), rootLifetimeMs: 30 * 86_400_000 });
    expect(await mode(join(dir, CA_DIR))).toBe(0o700);
    const days = (ca.status().authorities[0]!.notAfter.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29);
    expect(days).toBeLessThan(31);
  });

  it('refuses state made for another trust domain, and a corrupt state file, with typed errors', async () => {
    const dir = await dataDir();
    await CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock: systemClock, store: new FileCaStore(dir) });
    await expect(CertificateAuthority.open({ trustDomain: 'other.test', clock: systemClock, store: new FileCaStore(dir) })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('mesh.test'),
    });
    // A state whose key belongs to another root: loading it must fail loudly, not sign with a mismatched pair.
    const state = JSON.parse(await readFile(join(dir, CA_DIR, STATE_FILE), 'utf8')) as { authorities: { privateKeyPem: string }[] };
    const other = await dataDir();
    await CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock: systemClock, store: new FileCaStore(other) });
    const otherState = JSON.parse(await readFile(join(other, CA_DIR, STATE_FILE), 'utf8')) as typeof state;
    state.authorities[0]!.privateKeyPem = otherState.authorities[0]!.privateKeyPem;
    await writeFile(join(dir, CA_DIR, STATE_FILE), JSON.stringify(state));
    await expect(CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock: systemClock, store: new FileCaStore(dir) })).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      message: expect.stringContaining('does not match'),
    });
    await writeFile(join(dir, CA_DIR, STATE_FILE), '{"format":1}');
    await expect(CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock: systemClock, store: new FileCaStore(dir) })).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      message: expect.stringContaining(STATE_FILE),
    });
    await expect(CertificateAuthority.open({ trustDomain: 'Bad Domain', clock: systemClock, store: new FileCaStore(dir) })).rejects.toBeInstanceOf(IdentityInvalidError);
  });
});

describe('signing workload certificates', () => {
  let ca: CertificateAuthority;
  let signingDir: string;
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  beforeAll(async () => {
    signingDir = await mkdtemp(join(tmpdir(), 'weft-ca-sign-'));
    ca = await CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock, store: new FileCaStore(signingDir) });
  });
  afterAll(async () => {
    await rm(signingDir, { recursive: true, force: true });
  });

  it.each(['P-256', 'Ed25519'] as const)('issues a %s leaf with the SPIFFE SAN, EKUs, lifetime and backdate, which openssl verifies', async (kind) => {
    const issued = await ca.sign(await makeCsr(kind, [API_ID]), 'api');
    const now = clock.wallNow();
    expect(issued.spiffeId).toBe(API_ID);
    expect(issued.notBefore.getTime()).toBe(now - 60_000);
    expect(issued.notAfter.getTime()).toBe(now + 86_400_000);
    expect(issued.chainPem).toBe('');
    expect(issued.fullChainPem).toBe(issued.certificatePem);
    expect(issued.serialNumber).toMatch(/^[0-9a-f]{32}$/);
    expect(spiffeIdOfCertificate(issued.certificatePem)).toEqual({ trustDomain: TRUST_DOMAIN, service: 'api' });

    const text = (await openssl.openssl(['x509', '-noout', '-text', '-in', await openssl.write('leaf.pem', issued.certificatePem)])).output;
    expect(text).toContain(`URI:${API_ID}`);
    expect(text).toMatch(/Subject Alternative Name: critical/);
    expect(text).toContain('TLS Web Server Authentication, TLS Web Client Authentication');
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toContain('X509v3 Subject Key Identifier');
    expect(text).toContain('X509v3 Authority Key Identifier');
    expect(text).toContain(kind === 'Ed25519' ? 'ED25519' : 'prime256v1');

    // Verified as of the fake clock's date, which the leaf's validity covers.
    const attime = ['-attime', String(Math.floor(now / 1000) + 3600)];
    const bundle = await openssl.write('bundle.pem', ca.trustBundle().pem);
    for (const purpose of ['sslserver', 'sslclient']) {
      const result = await openssl.openssl(['verify', '-x509_strict', ...attime, '-purpose', purpose, '-CAfile', bundle, await openssl.write('leaf.pem', issued.certificatePem)]);
      expect(result.output).toContain('OK');
      expect(result.code).toBe(0);
    }
    const expired = await openssl.openssl(['verify', '-attime', String(Math.floor(now / 1000) + 86_400 + 60), '-CAfile', bundle, openssl.path('leaf.pem')]);
    expect(expired.code).not.toBe(0);
    expect(expired.output).toContain('expired');
  });

  it('gives every leaf a fresh random serial and a configurable lifetime', async () => {
    const dir = await dataDir();
    const short = await CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock, store: new FileCaStore(dir), leafLifetimeMs: 3_600_000 });
    const a = await short.sign(await makeCsr('P-256', [API_ID]), 'api');
    const b = await short.sign(await makeCsr('P-256', [API_ID]), 'api');
    expect(a.serialNumber).not.toBe(b.serialNumber);
    expect(a.notAfter.getTime() - clock.wallNow()).toBe(3_600_000);
  });

  it('refuses to sign once its root has expired, and signs again after a rotation', async () => {
    const expiring = new ManualClock(Date.UTC(2030, 0, 1));
    const dir = await dataDir();
    const shortLived = await CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock: expiring, store: new FileCaStore(dir), rootLifetimeMs: 86_400_000 });
    expiring.advance(86_400_000);
    await expect(shortLived.sign(await makeCsr('P-256', [API_ID]), 'api')).rejects.toMatchObject({ code: 'CONTROL_UNAVAILABLE', message: expect.stringContaining('expired') });
    await shortLived.rotate();
    await shortLived.activate();
    const fresh = await shortLived.sign(await makeCsr('P-256', [API_ID]), 'api');
    expect(fresh.notAfter.getTime()).toBe(expiring.wallNow() + 86_400_000);
  });

  it('accepts a DER CSR and a CSR made by openssl', async () => {
    const pem = await makeCsr('P-256', [API_ID]);
    const der = new Uint8Array(new x509.Pkcs10CertificateRequest(pem).rawData);
    expect((await ca.sign(der, 'api')).spiffeId).toBe(API_ID);
    const made = await openssl.openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-subj', '/CN=api', '-addext', `subjectAltName=URI:${API_ID}`, '-out', 'req.pem']);
    expect(made.code).toBe(0);
    expect((await ca.sign(await openssl.read('req.pem'), 'api')).spiffeId).toBe(API_ID);
  });

  it('refuses a CSR for another identity than the caller is entitled to', async () => {
    const foreign = await makeCsr('P-256', [`spiffe://${TRUST_DOMAIN}/service/payments`]);
    await expect(ca.sign(foreign, 'api')).rejects.toBeInstanceOf(IdentityMismatchError);
    await expect(ca.sign(await makeCsr('P-256', [`spiffe://other.test/service/api`]), 'api')).rejects.toMatchObject({ code: 'IDENTITY_MISMATCH' });
    await expect(ca.sign(await makeCsr('P-256', [API_ID, `spiffe://${TRUST_DOMAIN}/service/payments`]), 'api')).rejects.toBeInstanceOf(IdentityInvalidError);
    await expect(ca.sign(await makeCsr('P-256', []), 'api')).rejects.toMatchObject({ code: 'IDENTITY_INVALID' });
    await expect(ca.sign(await makeCsr('P-256', [API_ID]), 'Not A Service')).rejects.toBeInstanceOf(IdentityInvalidError);
  });

  it('refuses a CSR whose signature was not made by its own key', async () => {
    const forged = await makeCsr('P-256', [API_ID], await keyPair('P-256'));
    await expect(ca.sign(forged, 'api')).rejects.toMatchObject({ code: 'CSR_REJECTED', reason: 'bad-signature' });
    const der = new Uint8Array(new x509.Pkcs10CertificateRequest(await makeCsr('Ed25519', [API_ID])).rawData);
    der[der.length - 1] = (der[der.length - 1] as number) ^ 0x01;
    await expect(ca.sign(der, 'api')).rejects.toMatchObject({ code: 'CSR_REJECTED', reason: 'bad-signature' });
  });

  it('refuses garbage, small RSA keys and curves outside the allow-list; accepts RSA 2048', async () => {
    await expect(ca.sign('hello', 'api')).rejects.toMatchObject({ code: 'CSR_REJECTED', reason: 'malformed' });
    await expect(ca.sign(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]), 'api')).rejects.toBeInstanceOf(CsrRejectedError);
    const cases = [
      { name: 'rsa1024.pem', args: ['-newkey', 'rsa:1024'], reason: 'key-size' },
      { name: 'k1.pem', args: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1'], reason: 'key-algorithm' },
      { name: 'rsa2048.pem', args: ['-newkey', 'rsa:2048'], reason: undefined },
    ];
    for (const { name, args, reason } of cases) {
      const made = await openssl.openssl(['req', '-new', ...args, '-nodes', '-keyout', `${name}.key`, '-subj', '/CN=api', '-addext', `subjectAltName=URI:${API_ID}`, '-out', name]);
      expect(made.code, made.output).toBe(0);
      const signing = ca.sign(await openssl.read(name), 'api');
      if (reason) await expect(signing).rejects.toMatchObject({ code: 'CSR_REJECTED', reason });
      else expect((await signing).spiffeId).toBe(API_ID);
    }
  });

  it('sets the certificate from the expected identity, not from what else the CSR asks for', async () => {
    const made = await openssl.openssl([
      'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'x.key', '-subj', '/CN=admin',
      '-addext', `subjectAltName=URI:${API_ID},DNS:admin.internal`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=keyCertSign', '-out', 'x.pem',
    ]);
    expect(made.code, made.output).toBe(0);
    const issued = await ca.sign(await openssl.read('x.pem'), 'api');
    const text = (await openssl.openssl(['x509', '-noout', '-text', '-in', await openssl.write('x-leaf.pem', issued.certificatePem)])).output;
    expect(text).toContain('CA:FALSE');
    expect(text).not.toContain('admin');
    expect(text).not.toContain('Certificate Sign');
  });
});
