// Tests: the workload key is ECDSA P-256 and its CSR is self-signed by it, naming the SPIFFE id as the one URI SAN.
import 'reflect-metadata';
import { createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { expect, it } from 'vitest';
import { createWorkloadCsr, generateWorkloadKey } from '../../src/security/workload-key.js';

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
