// Test support: a small PKI for mTLS tests: roots, SPIFFE leaves signed from CSRs, expired leaves, with @peculiar/x509.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { IdentityMaterial } from '../../../src/security/tls/index.js';
import { createWorkloadCsr, generateWorkloadKey } from '../../../src/security/workload-key.js';

const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const HOUR_MS = 3_600_000;

export interface TestRoot {
  readonly certPem: string;
  readonly keys: webcrypto.CryptoKeyPair;
  readonly certificate: x509.X509Certificate;
}

export interface TestLeaf {
  readonly keyPem: string;
  readonly certPem: string;
  readonly spiffeId: string;
}

export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
}

export async function createRoot(name: string, validity: Validity = {}): Promise<TestRoot> {
  const keys = (await webcrypto.subtle.generateKey(EC_KEY, false, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: `CN=${name}`,
      keys,
      signingAlgorithm: SIGNING,
      notBefore: validity.notBefore ?? new Date(Date.now() - HOUR_MS),
      notAfter: validity.notAfter ?? new Date(Date.now() + 24 * HOUR_MS),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  return { certPem: certificate.toString('pem'), keys, certificate };
}

/** A workload leaf as the CA will make it: from a CSR made by the workload's own key, the SPIFFE id as the one URI SAN. */
export async function issueLeaf(root: TestRoot, spiffeId: string, validity: Validity = {}): Promise<TestLeaf> {
  const key = await generateWorkloadKey();
  const csr = new x509.Pkcs10CertificateRequest(await createWorkloadCsr(key, spiffeId));
  const certificate = await x509.X509CertificateGenerator.create(
    {
      subject: csr.subject,
      issuer: root.certificate.subject,
      publicKey: csr.publicKey,
      signingKey: root.keys.privateKey,
      signingAlgorithm: SIGNING,
      notBefore: validity.notBefore ?? new Date(Date.now() - HOUR_MS),
      notAfter: validity.notAfter ?? new Date(Date.now() + 24 * HOUR_MS),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }]),
        await x509.AuthorityKeyIdentifierExtension.create(root.keys.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  return { keyPem: key.privateKeyPem, certPem: certificate.toString('pem'), spiffeId };
}

export async function expiredLeaf(root: TestRoot, spiffeId: string): Promise<TestLeaf> {
  return issueLeaf(root, spiffeId, { notBefore: new Date(Date.now() - 48 * HOUR_MS), notAfter: new Date(Date.now() - HOUR_MS) });
}

/** What a workload holding `leaf` and trusting `roots` has. */
export function materialOf(leaf: TestLeaf, ...roots: TestRoot[]): IdentityMaterial {
  return { key: leaf.keyPem, certChain: leaf.certPem, trustBundle: roots.map((root) => root.certPem).join('\n') };
}
