import { describe, expect, it } from 'vitest';
import { createWorkloadAssertion, WORKLOAD_ASSERTION_SCHEME } from '../../src/security/workload-assertion.js';
import { verifyWorkloadAssertion } from '../../src/security/workload-assertion-verify.js';
import { createRoot, issueLeaf } from './tls/test-pki.js';

const TD = 'weft.test';
const ID = `spiffe://${TD}/service/api`;
const HOUR_MS = 3_600_000;

async function setup() {
  const root = await createRoot('root');
  const leaf = await issueLeaf(root, ID);
  return { root, leaf, signer: { keyPem: leaf.keyPem, certChainPem: leaf.certPem } };
}

function jwsOf(header: string): string {
  expect(header.startsWith(`${WORKLOAD_ASSERTION_SCHEME} `)).toBe(true);
  return header.slice(WORKLOAD_ASSERTION_SCHEME.length + 1);
}

describe('workload assertion', () => {
  it('proves the holder of a certificate for the request it was made for', async () => {
    const { root, signer } = await setup();
    const now = Date.now();
    const header = createWorkloadAssertion(signer, { method: 'put', path: '/api/v1/instances/a', nowMs: now });
    const proven = await verifyWorkloadAssertion(jwsOf(header), { method: 'PUT', path: '/api/v1/instances/a', nowMs: now + 1000, trustBundle: [root.certPem], trustDomain: TD });
    expect(proven).toMatchObject({ spiffeId: ID, service: 'api' });
    expect(proven.notAfterMs).toBeGreaterThan(now);
  });

  it('refuses another request, an old assertion, another CA, another trust domain and a tampered token', async () => {
    const { root, signer } = await setup();
    const other = await createRoot('other');
    const now = Date.now();
    const jws = jwsOf(createWorkloadAssertion(signer, { method: 'PUT', path: '/a', nowMs: now }));
    const check = { method: 'PUT', path: '/a', nowMs: now, trustBundle: [root.certPem], trustDomain: TD };
    await expect(verifyWorkloadAssertion(jws, { ...check, path: '/b' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED', reason: 'the assertion was made for another request' });
    await expect(verifyWorkloadAssertion(jws, { ...check, method: 'DELETE' })).rejects.toMatchObject({ reason: 'the assertion was made for another request' });
    await expect(verifyWorkloadAssertion(jws, { ...check, nowMs: now + 10 * 60_000 })).rejects.toMatchObject({ reason: 'the assertion has expired' });
    await expect(verifyWorkloadAssertion(jws, { ...check, nowMs: now - 5 * 60_000 })).rejects.toMatchObject({ reason: 'the assertion is from the future' });
    await expect(verifyWorkloadAssertion(jws, { ...check, trustBundle: [other.certPem] })).rejects.toMatchObject({ reason: 'the certificate is not signed by a trusted root' });
    await expect(verifyWorkloadAssertion(jws, { ...check, trustDomain: 'elsewhere' })).rejects.toMatchObject({ reason: 'the certificate is of another trust domain' });
    const [h, p, s] = jws.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ htm: 'PUT', htp: '/a', iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 60, jti: 'x' })).toString('base64url');
    await expect(verifyWorkloadAssertion(`${h}.${forged}.${s}`, check)).rejects.toMatchObject({ reason: 'the assertion signature does not verify' });
    await expect(verifyWorkloadAssertion(`${h}.${p}`, check)).rejects.toMatchObject({ reason: 'the assertion is malformed' });
  });

  it('refuses a certificate held by someone else, an expired certificate and a JWS of another type', async () => {
    const { root, leaf } = await setup();
    const thief = await issueLeaf(root, `spiffe://${TD}/service/thief`);
    const now = Date.now();
    const check = { method: 'GET', path: '/x', nowMs: now, trustBundle: [root.certPem], trustDomain: TD };
    // The victim's chain with the thief's key: the signature cannot match the leaf's public key.
    const stolen = jwsOf(createWorkloadAssertion({ keyPem: thief.keyPem, certChainPem: leaf.certPem }, { method: 'GET', path: '/x', nowMs: now }));
    await expect(verifyWorkloadAssertion(stolen, check)).rejects.toMatchObject({ reason: 'the assertion signature does not verify' });
    const expired = await issueLeaf(root, ID, { notBefore: new Date(now - 3 * HOUR_MS), notAfter: new Date(now - 2 * HOUR_MS) });
    const late = jwsOf(createWorkloadAssertion({ keyPem: expired.keyPem, certChainPem: expired.certPem }, { method: 'GET', path: '/x', nowMs: now }));
    await expect(verifyWorkloadAssertion(late, check)).rejects.toMatchObject({ reason: 'the certificate is expired or not yet valid' });
    const { SignJWT } = await import('jose');
    const { createPrivateKey } = await import('node:crypto');
    const jwt = await new SignJWT({ htm: 'GET', htp: '/x' }).setProtectedHeader({ alg: 'ES256' }).setIssuedAt().setExpirationTime('1m').sign(createPrivateKey(leaf.keyPem));
    await expect(verifyWorkloadAssertion(jwt, check)).rejects.toMatchObject({ reason: 'not a workload assertion' });
  });
});
