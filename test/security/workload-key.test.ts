// Tests: the workload key is ECDSA P-256 and its CSR is self-signed by it, naming the SPIFFE id as the one URI SAN; openssl and the CA read it, and making them loads no X.509 library.
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptCsr } from '../../src/security/ca/csr.js';
import { parseSpiffeId } from '../../src/security/identity.js';
import { createWorkloadCsr, generateWorkloadKey } from '../../src/security/workload-key.js';
import { OpensslDir } from './ca/pki-fixtures.js';

it('makes a P-256 key and a CSR carrying the SPIFFE id, signed by that key', async () => {
  const key = await generateWorkloadKey();
  const privateKey = createPrivateKey(key.privateKeyPem);
  expect(privateKey.asymmetricKeyType).toBe('ec');
  expect(privateKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');

  const pem = await createWorkloadCsr(key, 'spiffe://weft.local/service/api');
  expect(pem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
  const csr = new x509.Pkcs10CertificateRequest(pem);
  expect(await csr.verify(webcrypto)).toBe(true);
  const sans = csr.extensions.filter((extension) => extension instanceof x509.SubjectAlternativeNameExtension);
  expect(sans).toHaveLength(1);
  expect((sans[0] as x509.SubjectAlternativeNameExtension).names.toJSON()).toEqual([{ type: 'url', value: 'spiffe://weft.local/service/api' }]);
  expect(csr.subject).toBe('CN=api');
  const publicKey = await csr.publicKey.export(webcrypto);
  const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', publicKey));
  expect(spki.equals(Buffer.from(await webcrypto.subtle.exportKey('spki', key.keys.publicKey)))).toBe(true);
});

it('refuses to ask for an id that is not a workload SPIFFE id', async () => {
  const key = await generateWorkloadKey();
  await expect(createWorkloadCsr(key, 'spiffe://weft.local/admin')).rejects.toThrow(/spiffeId/);
});

it('makes a new key every time', async () => {
  const [a, b] = await Promise.all([generateWorkloadKey(), generateWorkloadKey()]);
  expect(a.privateKeyPem).not.toBe(b.privateKeyPem);
});

// A trust domain may be 255 characters, so an id can be long enough that every length around the SAN takes DER's long form.
const IDS = [
  ['a short id', 'spiffe://weft.local/service/api'],
  ['a 146-byte id', `spiffe://${'a'.repeat(120)}.weft/service/api`],
  ['a 276-byte id', `spiffe://${'b'.repeat(255)}/service/api`],
];

describe('the CSR outside this module', () => {
  let openssl: OpensslDir;

  beforeAll(async () => {
    openssl = await OpensslDir.create();
  });

  afterAll(async () => {
    await openssl.remove();
  });

  it.each(IDS)('openssl verifies the CSR for %s and reads the CN and the one non-critical URI SAN', async (_, id) => {
    const file = await openssl.write('request.pem', await createWorkloadCsr(await generateWorkloadKey(), id));
    const result = await openssl.openssl(['req', '-in', file, '-noout', '-verify', '-text']);
    expect(result.output).toMatch(/verify OK/);
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/Subject: CN ?= ?api\n/);
    expect(result.output).toMatch(/Requested Extensions:\n\s+X509v3 Subject Alternative Name: *\n/);
    expect(result.output.match(/URI:/g)).toHaveLength(1);
    expect(result.output).toContain(`URI:${id}\n`);
    expect(result.output).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
  });

  it.each(IDS)('the CA accepts the CSR for %s, for the workload key', async (_, id) => {
    const key = await generateWorkloadKey();
    const accepted = await acceptCsr(await createWorkloadCsr(key, id), parseSpiffeId(id));
    const asked = createPublicKey({ key: Buffer.from(accepted.publicKey.rawData), format: 'der', type: 'spki' });
    expect(asked.equals(createPublicKey(key.privateKeyPem))).toBe(true);
  });
});

describe('what making a key and a CSR loads', () => {
  const ROOT = fileURLToPath(new URL('../..', import.meta.url));
  const X509 = /\/node_modules\/(@peculiar\/|reflect-metadata\/)/;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-workload-key-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * `--import` of a data: URL that registers loader hooks (themselves a data: URL, as they run in a thread of their own)
   * appending every URL the ES module loader loads to `log`, synchronously, since the process may exit right after.
   */
  function recorder(log: string): string {
    const hooks = `import { appendFileSync } from 'node:fs';
export async function load(url, context, nextLoad) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return nextLoad(url, context); }`;
    const registration = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
    return `data:text/javascript,${encodeURIComponent(registration)}`;
  }

  /** The URLs a fresh node (sources through tsx) loads to run `script`, which must exit 0; no NODE_OPTIONS, which could load modules of their own. */
  async function loadedBy(script: string, name: string): Promise<string[]> {
    const log = join(dir, name);
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_OPTIONS;
    const args = ['--import', 'tsx', '--import', recorder(log), '--input-type=module', '-e', script];
    const failure = await new Promise<Error | null>((resolve) => execFile(process.execPath, args, { cwd: ROOT, env, timeout: 20_000 }, resolve));
    expect(failure).toBeNull();
    return (await readFile(log, 'utf8')).split('\n').filter((line) => line !== '');
  }

  it('loads neither @peculiar/x509 nor reflect-metadata', async () => {
    const loaded = await loadedBy(
      [
        "const m = await import('./src/security/workload-key.ts');",
        "const csr = await m.createWorkloadCsr(await m.generateWorkloadKey(), 'spiffe://weft.local/service/api');",
        "if (!csr.startsWith('-----BEGIN CERTIFICATE REQUEST-----')) process.exit(2);",
      ].join('\n'),
      'workload-key.log',
    );
    expect(loaded.filter((url) => X509.test(url))).toEqual([]);
    expect(loaded.some((url) => url.endsWith('/src/security/workload-key.ts'))).toBe(true);
  });

  it('sees the X.509 library when the CA side loads it, so that the check above can fail', async () => {
    const loaded = await loadedBy("await import('./src/security/ca/csr.ts');", 'ca-csr.log');
    expect(loaded.some((url) => X509.test(url))).toBe(true);
  });
});
