// Security: SPIFFE ids — format, parse, trust-domain rules, and reading the one SPIFFE URI from a certificate.
import { webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IdentityInvalidError, formatSpiffeId, parseSpiffeId, spiffeId, trustDomainProblem } from '../../src/security/identity.js';
import { spiffeIdOfCertificate } from '../../src/security/certificate-identity.js';
import { x509 } from '../../src/security/ca/x509-provider.js';

async function certificateWithUris(uris: readonly string[]): Promise<x509.X509Certificate> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  return x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=test',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams,
    extensions: uris.length ? [new x509.SubjectAlternativeNameExtension(uris.map((value) => ({ type: 'url' as const, value })))] : [],
  });
}

describe('SPIFFE ids', () => {
  it('formats and parses spiffe://<trust-domain>/service/<name>', () => {
    const id = spiffeId('prod.example_org-1', 'api');
    expect(formatSpiffeId(id)).toBe('spiffe://prod.example_org-1/service/api');
    expect(parseSpiffeId('spiffe://prod.example_org-1/service/api')).toEqual(id);
  });

  it.each([
    'http://example.org/service/api',
    'spiffe://Example.org/service/api',
    'spiffe://example.org/service/API',
    'spiffe://example.org/service/api/',
    'spiffe://example.org/service/api?x=1',
    'spiffe://example.org:8080/service/api',
    'spiffe://example.org/ns/default/sa/api',
    'spiffe://example.org',
    'spiffe:///service/api',
    'spiffe://user@example.org/service/api',
  ])('refuses %s with a typed error', (text) => {
    expect(() => parseSpiffeId(text)).toThrow(IdentityInvalidError);
  });

  it('checks trust domains by the SPIFFE character set and length', () => {
    expect(trustDomainProblem('cluster.local')).toBeUndefined();
    expect(trustDomainProblem('Cluster.local')).toMatch(/lowercase/);
    expect(trustDomainProblem('a/b')).toMatch(/lowercase/);
    expect(trustDomainProblem('')).toMatch(/1-255/);
    expect(trustDomainProblem('a'.repeat(256))).toMatch(/1-255/);
    expect(() => spiffeId('example.org', '-bad-')).toThrow(IdentityInvalidError);
  });
});

describe('identity of a certificate', () => {
  it('reads the single SPIFFE URI from PEM, DER or a parsed certificate', async () => {
    const cert = await certificateWithUris(['spiffe://example.org/service/api', 'https://not-an-identity.example']);
    const expected = { trustDomain: 'example.org', service: 'api' };
    expect(spiffeIdOfCertificate(cert.toString('pem'))).toEqual(expected);
    expect(spiffeIdOfCertificate(new Uint8Array(cert.rawData))).toEqual(expected);
    expect(spiffeIdOfCertificate(cert)).toEqual(expected);
  });

  it('refuses a certificate with no SPIFFE URI or with several', async () => {
    const none = await certificateWithUris([]);
    const two = await certificateWithUris(['spiffe://example.org/service/api', 'SPIFFE://example.org/service/admin']);
    expect(() => spiffeIdOfCertificate(none)).toThrow(/found 0/);
    expect(() => spiffeIdOfCertificate(two)).toThrow(/found 2/);
    expect(() => spiffeIdOfCertificate(two)).toThrow(IdentityInvalidError);
  });

  it('refuses bytes that are not a certificate', () => {
    expect(() => spiffeIdOfCertificate(new Uint8Array([1, 2, 3]))).toThrow(IdentityInvalidError);
  });
});
