// Security CA: the data-dir store's compare-and-set holds for concurrent writers in one process.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/index.js';
import { VersionConflictError } from '../../../src/registry/index.js';
import { CertificateAuthority, FileCaStore } from '../../../src/security/ca/index.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

it('lets exactly one of two writes at the same version through', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-ca-store-'));
  dirs.push(dir);
  const store = new FileCaStore(dir);
  await CertificateAuthority.open({ trustDomain: 'mesh.test', clock: systemClock, store });
  const stored = await store.load();
  if (!stored) throw new Error('the CA stored no state');
  const next = { ...stored.state, revision: stored.state.revision + 1 };
  const results = await Promise.allSettled([store.replace(next, stored.version), store.replace(next, stored.version)]);
  expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  const refused = results.find((r) => r.status === 'rejected');
  expect(refused?.status === 'rejected' && refused.reason).toBeInstanceOf(VersionConflictError);
  expect((await store.load())?.version).toBe(stored.version + 1);
});
