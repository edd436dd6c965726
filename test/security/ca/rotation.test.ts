// Security CA: root rotation — phases in order, the bundle at each stage, and openssl verifying old and new leaves against it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/index.js';
import { CertificateAuthority, FileCaStore, RotationPhaseError, type IssuedCertificate } from '../../../src/security/ca/index.js';
import { OpensslDir, makeCsr } from './pki-fixtures.js';

const TRUST_DOMAIN = 'mesh.test';
const API_ID = `spiffe://${TRUST_DOMAIN}/service/api`;
const HOUR = 3_600_000;
let openssl: OpensslDir;
let dir: string;

beforeAll(async () => {
  openssl = await OpensslDir.create();
  dir = await mkdtemp(join(tmpdir(), 'weft-ca-rotation-'));
});
afterAll(async () => {
  await openssl.remove();
  await rm(dir, { recursive: true, force: true });
});

/** openssl verify at the fake clock's time (leaves and roots are dated by it). */
async function verifies(bundlePem: string, leaf: IssuedCertificate, clock: ManualClock): Promise<boolean> {
  const attime = String(Math.floor(clock.wallNow() / 1000));
  const result = await openssl.openssl(['verify', '-x509_strict', '-attime', attime, '-CAfile', await openssl.write('bundle.pem', bundlePem), await openssl.write('leaf.pem', leaf.certificatePem)]);
  return result.code === 0;
}

const sign = async (ca: CertificateAuthority) => ca.sign(await makeCsr('P-256', [API_ID]), 'api');

describe('explicit rotation', () => {
  it('trusts the new root before it signs, signs with it after activate, and drops the old root on retire', async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const store = new FileCaStore(join(dir, 'explicit'));
    const ca = await CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock, store });
    const bundle0 = ca.trustBundle().pem;
    const oldLeaf = await sign(ca);
    expect(ca.status().phase).toBe('steady');

    clock.advance(HOUR);
    const trusted = await ca.rotate();
    expect(trusted.phase).toBe('new-root-trusted');
    expect(trusted.authorities).toHaveLength(2);
    expect(trusted.authorities.map((a) => a.signing)).toEqual([true, false]);
    const bundle1 = ca.trustBundle().pem;
    expect(ca.trustBundle().roots).toHaveLength(2);
    // Still signing with the old root: a sidecar that has only the old bundle accepts the new leaves.
    const stillOld = await sign(ca);
    expect(stillOld.authorityId).toBe(oldLeaf.authorityId);
    expect(await verifies(bundle0, stillOld, clock)).toBe(true);
    expect(await verifies(bundle1, oldLeaf, clock)).toBe(true);

    clock.advance(HOUR);
    const signing = await ca.activate();
    expect(signing.phase).toBe('new-root-signing');
    expect(signing.authorities.map((a) => a.signing)).toEqual([false, true]);
    const newLeaf = await sign(ca);
    expect(newLeaf.authorityId).not.toBe(oldLeaf.authorityId);
    // Sidecars hold the two-root bundle by now: old and new leaves both verify against it; the old bundle refuses new leaves.
    expect(await verifies(bundle1, newLeaf, clock)).toBe(true);
    expect(await verifies(bundle1, oldLeaf, clock)).toBe(true);
    expect(await verifies(bundle0, newLeaf, clock)).toBe(false);

    clock.advance(HOUR);
    const retired = await ca.retire();
    expect(retired.phase).toBe('steady');
    expect(retired.authorities).toHaveLength(1);
    const bundle2 = ca.trustBundle().pem;
    expect(await verifies(bundle2, newLeaf, clock)).toBe(true);
    expect(await verifies(bundle2, oldLeaf, clock)).toBe(false);

    // A restart sees the finished rotation.
    const reopened = await CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock, store });
    expect(reopened.trustBundle().pem).toBe(bundle2);
  });

  it('refuses steps out of order with a typed error', async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const ca = await CertificateAuthority.open({ trustDomain: TRUST_DOMAIN, clock, store: new FileCaStore(join(dir, 'order')) });
    await expect(ca.activate()).rejects.toBeInstanceOf(RotationPhaseError);
    await expect(ca.retire()).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('"steady"') });
    // Two rotations asked for at once: the compare-and-set lets exactly one through.
    const both = await Promise.allSettled([ca.rotate(), ca.rotate()]);
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(ca.trustBundle().roots).toHaveLength(2);
    await expect(ca.rotate()).rejects.toBeInstanceOf(RotationPhaseError);
    await expect(ca.retire()).rejects.toBeInstanceOf(RotationPhaseError);
    expect(ca.status().phase).toBe('new-root-trusted');
  });
});

describe('scheduled rotation', () => {
  it('activates and retires by itself after the configured delays, driven by signing or advance()', async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const ca = await CertificateAuthority.open({
      trustDomain: TRUST_DOMAIN,
      clock,
      store: new FileCaStore(join(dir, 'scheduled')),
      rotation: { activateAfterMs: 10 * 60_000, retireAfterMs: 25 * HOUR },
    });
    const first = (await ca.rotate()).authorities;
    clock.advance(9 * 60_000);
    expect((await sign(ca)).authorityId).toBe(first[0]!.id);
    clock.advance(60_000);
    const leaf = await sign(ca);
    expect(leaf.authorityId).toBe(first[1]!.id);
    expect(ca.status().phase).toBe('new-root-signing');
    clock.advance(25 * HOUR - 1);
    expect((await ca.advance()).phase).toBe('new-root-signing');
    clock.advance(1);
    const done = await ca.advance();
    expect(done.phase).toBe('steady');
    expect(done.authorities.map((a) => a.id)).toEqual([first[1]!.id]);
  });
});
