// Tests: a workload identity accepts only matching key, chain and bundle, keeps the old material on a bad update, and calls for renewal at 2/3.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/index.js';
import { IdentityInvalidError, WorkloadIdentity, type IdentityState } from '../../../src/security/tls/index.js';
import { formatSpiffeId, spiffeId } from '../../../src/security/identity.js';
import { HandTimers } from './hand-timers.js';
import { createRoot, issueLeaf, materialOf } from './test-pki.js';

const API = formatSpiffeId(spiffeId('weft.test', 'api'));
const HOUR_MS = 3_600_000;


describe('WorkloadIdentity', () => {
  it('reads the SPIFFE id, validity and renewal time from the leaf', async () => {
    const root = await createRoot('root');
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 - HOUR_MS);
    const notAfter = new Date(notBefore.getTime() + 24 * HOUR_MS);
    const identity = new WorkloadIdentity(materialOf(await issueLeaf(root, API, { notBefore, notAfter }), root));
    expect(identity.spiffeId).toBe(API);
    expect(identity.current.notBefore).toBe(notBefore.getTime());
    expect(identity.current.notAfter).toBe(notAfter.getTime());
    expect(identity.current.renewAt).toBe(notBefore.getTime() + 16 * HOUR_MS);
    expect(identity.expired()).toBe(false);
  });

  it('refuses a key that is not the leaf\'s, a chain without certificates, an empty bundle, a certificate without SPIFFE id', async () => {
    const root = await createRoot('root');
    const leaf = await issueLeaf(root, API);
    const other = await issueLeaf(root, API);
    expect(() => new WorkloadIdentity({ ...materialOf(leaf, root), key: other.keyPem })).toThrow(/does not match/);
    expect(() => new WorkloadIdentity({ ...materialOf(leaf, root), certChain: 'nothing' })).toThrow(/no PEM certificate/);
    expect(() => new WorkloadIdentity({ ...materialOf(leaf, root), trustBundle: '' })).toThrow(/trust bundle/);
    expect(() => new WorkloadIdentity({ ...materialOf(leaf, root), key: 'garbage' })).toThrow(IdentityInvalidError);
    // The root itself carries no URI SAN.
    expect(() => new WorkloadIdentity({ key: leaf.keyPem, certChain: root.certPem, trustBundle: root.certPem })).toThrow(/does not match|spiffe/);
  });

  it('keeps the current material when an update names another workload, and tells listeners of a good one', async () => {
    const root = await createRoot('root');
    const identity = new WorkloadIdentity(materialOf(await issueLeaf(root, API), root));
    const first = identity.current;
    const heard: IdentityState[] = [];
    const stop = identity.onUpdate((state) => heard.push(state));
    const foreign = materialOf(await issueLeaf(root, formatSpiffeId(spiffeId('weft.test', 'payments'))), root);
    expect(() => identity.update(foreign)).toThrow(IdentityInvalidError);
    expect(identity.current).toBe(first);
    const renewed = identity.update(materialOf(await issueLeaf(root, API), root));
    expect(identity.current).toBe(renewed);
    expect(renewed.secureContext).not.toBe(first.secureContext);
    expect(heard).toEqual([renewed]);
    stop();
    identity.update(materialOf(await issueLeaf(root, API), root));
    expect(heard).toHaveLength(1);
  });

  it('calls for renewal at 2/3 of the lifetime and re-arms for the renewed certificate', async () => {
    const root = await createRoot('root');
    const start = Math.floor(Date.now() / 1000) * 1000;
    const clock = new ManualClock(start);
    const timers = new HandTimers();
    const due: string[] = [];
    const leaf = await issueLeaf(root, API, { notBefore: new Date(start), notAfter: new Date(start + 24 * HOUR_MS) });
    const identity = new WorkloadIdentity(materialOf(leaf, root), { clock, timers, onRenewalDue: (state) => due.push(state.spiffeId) });
    expect(timers.armed?.delayMs).toBe(16 * HOUR_MS);
    clock.advance(16 * HOUR_MS);
    timers.armed?.callback();
    expect(due).toEqual([API]);

    const next = await issueLeaf(root, API, { notBefore: new Date(clock.wallNow()), notAfter: new Date(clock.wallNow() + 3 * HOUR_MS) });
    identity.update(materialOf(next, root));
    expect(timers.armed?.delayMs).toBe(2 * HOUR_MS);
    identity.stop();
    expect(timers.armed).toBeNull();
  });

  it('counts the lifetime from receipt when told, so a backdated short-lived certificate is not due at once; a new bundle keeps the time', async () => {
    const root = await createRoot('root');
    const start = Math.floor(Date.now() / 1000) * 1000;
    const clock = new ManualClock(start);
    const timers = new HandTimers();
    // Issued now for 12 s, with notBefore a minute back as weft's CA does.
    const leaf = await issueLeaf(root, API, { notBefore: new Date(start - 60_000), notAfter: new Date(start + 12_000) });
    const identity = new WorkloadIdentity(materialOf(leaf, root), { clock, timers, lifetimeFrom: 'received', onRenewalDue: () => {} });
    expect(identity.current.renewAt).toBe(start + 8_000);
    expect(timers.armed?.delayMs).toBe(8_000);
    clock.advance(3_000);
    const other = await createRoot('next root');
    identity.update({ ...identity.current.material, trustBundle: `${root.certPem}\n${other.certPem}` });
    expect(identity.current.renewAt).toBe(start + 8_000);
    expect(timers.armed?.delayMs).toBe(5_000);
    identity.stop();
    // Without the option the same leaf would be due 12 s before it arrived.
    expect(new WorkloadIdentity(materialOf(leaf, root)).current.renewAt).toBe(start - 60_000 + 48_000);
  });
});
