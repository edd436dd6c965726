// Security CA: an intermediate under an outside PKI (made here by openssl) given as --ca-cert/--ca-key; leaves verify to the outer root.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/index.js';
import { CertificateAuthority } from '../../../src/security/ca/index.js';
import { OpensslDir, makeCsr } from './pki-fixtures.js';

const TRUST_DOMAIN = 'corp.test';
const API_ID = `spiffe://${TRUST_DOMAIN}/service/api`;
let pki: OpensslDir;

const CA_EXTENSIONS = [
  '[ca]',
  'basicConstraints = critical, CA:TRUE',
  'keyUsage = critical, keyCertSign, cRLSign',
  'subjectKeyIdentifier = hash',
  'authorityKeyIdentifier = keyid',
  '[noSign]',
  'basicConstraints = critical, CA:TRUE',
  'keyUsage = critical, digitalSignature',
  '[leaf]',
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature, keyCertSign',
].join('\n');

async function ok(args: readonly string[]): Promise<void> {
  const result = await pki.openssl(args);
  if (result.code !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.output}`);
}

/** A key and a certificate for `name`, signed by `issuer` (self-signed when undefined) with the given extension section. */
async function issue(name: string, newKey: readonly string[], issuer: string | undefined, section: string): Promise<void> {
  await ok(['req', '-new', '-newkey', ...newKey, '-nodes', '-keyout', `${name}.key`, '-subj', `/O=Corp/CN=${name}`, '-out', `${name}.csr`]);
  const signer = issuer ? ['-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-set_serial', String(Math.floor(Math.random() * 1e9))] : ['-key', `${name}.key`];
  await ok(['x509', '-req', '-in', `${name}.csr`, ...signer, '-days', '30', '-extfile', 'ext.cnf', '-extensions', section, '-out', `${name}.pem`]);
}

const cat = async (...names: string[]): Promise<string> => (await Promise.all(names.map((n) => pki.read(`${n}.pem`)))).join('');
const P256 = ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

beforeAll(async () => {
  pki = await OpensslDir.create();
  await pki.write('ext.cnf', CA_EXTENSIONS);
  await issue('root', P256, undefined, 'ca');
  await issue('intermediate', P256, 'root', 'ca');
  // A deeper PKI with an RSA issuing CA: root → policy CA → issuing CA.
  await issue('policy', P256, 'root', 'ca');
  await issue('issuing', ['rsa:2048'], 'policy', 'ca');
  await issue('other-root', P256, undefined, 'ca');
  await issue('not-a-signer', P256, 'root', 'noSign');
  await issue('not-a-ca', P256, 'root', 'leaf');
  // The same intermediate key in the SEC1 form ("EC PRIVATE KEY") older tools write.
  await ok(['ec', '-in', 'intermediate.key', '-out', 'intermediate-sec1.key']);
  await pki.write('intermediate-chain.pem', await cat('intermediate', 'root'));
  await pki.write('issuing-chain.pem', await cat('issuing', 'policy', 'root'));
});
afterAll(async () => {
  await pki.remove();
});

const open = (cert: string, key: string) => CertificateAuthority.fromFiles({ trustDomain: TRUST_DOMAIN, clock: systemClock, certPath: pki.path(cert), keyPath: pki.path(key) });

describe('external intermediate', () => {
  it('signs leaves whose chain verifies up to the outer root', async () => {
    const ca = await open('intermediate-chain.pem', 'intermediate-sec1.key');
    const squash = (pem: string) => pem.replace(/\s/g, '');
    expect(ca.trustBundle().roots.map(squash)).toEqual([squash(await pki.read('root.pem'))]);
    const leaf = await ca.sign(await makeCsr('P-256', [API_ID]), 'api');
    expect(leaf.chainPem).toContain('BEGIN CERTIFICATE');
    expect((await pki.verify(ca.trustBundle().pem, leaf.certificatePem, leaf.chainPem)).ok).toBe(true);
    // Without the chain the outer root alone cannot vouch for the leaf: the intermediate is really in the path.
    expect((await pki.verify(ca.trustBundle().pem, leaf.certificatePem)).ok).toBe(false);
    expect(ca.status()).toMatchObject({ source: 'external', phase: 'steady' });
  });

  it('keeps a longer chain (RSA issuing CA under a policy CA) and returns it with each leaf', async () => {
    const ca = await open('issuing-chain.pem', 'issuing.key');
    const leaf = await ca.sign(await makeCsr('Ed25519', [API_ID]), 'api');
    expect(leaf.chainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(leaf.fullChainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    const verified = await pki.verify(await pki.read('root.pem'), leaf.certificatePem, leaf.chainPem);
    expect(verified.ok, verified.output).toBe(true);
    const text = (await pki.openssl(['x509', '-noout', '-text', '-in', await pki.write('rsa-leaf.pem', leaf.certificatePem)])).output;
    expect(text).toContain('sha256WithRSAEncryption');
  });

  it('caps leaf lifetime at the intermediate expiry', async () => {
    const ca = await CertificateAuthority.fromFiles({
      trustDomain: TRUST_DOMAIN,
      clock: systemClock,
      certPath: pki.path('intermediate-chain.pem'),
      keyPath: pki.path('intermediate.key'),
      leafLifetimeMs: 365 * 86_400_000,
    });
    const leaf = await ca.sign(await makeCsr('P-256', [API_ID]), 'api');
    expect(leaf.notAfter.getTime()).toBe(ca.status().authorities[0]!.notAfter.getTime());
  });

  it('refuses to rotate: the outer PKI owns that', async () => {
    const ca = await open('intermediate-chain.pem', 'intermediate.key');
    await expect(ca.rotate()).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('--ca-cert') });
  });

  it.each([
    { cert: 'intermediate-chain.pem', key: 'root.key', says: 'expected the private key of the certificate' },
    { cert: 'intermediate.pem', key: 'intermediate.key', says: 'self-signed root' },
    { cert: 'not-a-ca.pem', key: 'not-a-ca.key', says: 'cA=true' },
    { cert: 'not-a-signer.pem', key: 'not-a-signer.key', says: 'keyCertSign' },
    { cert: 'ext.cnf', key: 'intermediate.key', says: 'PEM certificates' },
    { cert: 'intermediate-chain.pem', key: 'ext.cnf', says: 'PEM private key' },
    { cert: 'missing.pem', key: 'intermediate.key', says: 'readable file' },
  ])('refuses $cert with $key: "$says"', async ({ cert, key, says }) => {
    await expect(open(cert, key)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining(says) });
  });

  it('refuses a chain whose next certificate is not the issuer', async () => {
    await pki.write('wrong-chain.pem', await cat('intermediate', 'other-root'));
    await expect(open('wrong-chain.pem', 'intermediate.key')).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/wrong-chain\.pem at certificate 2: expected the issuer/) });
  });
});
