// Control auth: the admin token file — made once with mode 0600, reused on restart, and not made by a second control plane on the same etcd.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { requireEtcd, startEtcd, type EtcdCluster } from '../../support/index.js';
import { bearer, call, startAuthPlane, stopAuthPlanes } from './auth-fixture.js';

const etcdBinary = await requireEtcd();
const dirs: string[] = [];
afterEach(async () => {
  await stopAuthPlanes();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-admin-token-'));
  dirs.push(dir);
  return dir;
}

describe('admin token file', () => {
  it('is made on first start with mode 0600 in a 0700 directory, and reused on restart', async () => {
    const dataDir = join(await scratch(), 'data');
    const first = await startAuthPlane({ dataDir });
    const file = join(dataDir, 'admin.token');
    expect(first.plane.adminTokenFile).toBe(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    const token = (await readFile(file, 'utf8')).trim();
    expect(token).toBe(first.admin);
    expect((await call(first.plane, 'GET', '/api/v1/tokens', undefined, bearer(token))).status).toBe(200);
    expect(first.logs.join('')).toContain(file);
    await stopAuthPlanes();

    const second = await startAuthPlane({ dataDir });
    expect(second.plane.adminToken).toBe(token);
    expect(second.plane.adminTokenFile).toBeUndefined();
    expect((await readFile(file, 'utf8')).trim()).toBe(token);
  });

  it('is replaced when the token it holds was revoked and no admin token is left', async () => {
    const dataDir = await scratch();
    const first = await startAuthPlane({ dataDir });
    const id = first.admin.split('.')[1]!;
    expect((await call(first.plane, 'DELETE', `/api/v1/tokens/${id}`, undefined, bearer(first.admin))).status).toBe(200);
    await stopAuthPlanes();
    const second = await startAuthPlane({ dataDir });
    expect(second.admin).not.toBe(first.admin);
    expect(second.plane.adminTokenFile).toBe(join(dataDir, 'admin.token'));
    expect((await readFile(join(dataDir, 'admin.token'), 'utf8')).trim()).toBe(second.admin);
  });

  it('leaves a file it cannot use alone when the store holds another admin token', async () => {
    const dataDir = await scratch();
    const first = await startAuthPlane({ dataDir });
    await stopAuthPlanes();
    await writeFile(join(dataDir, 'admin.token'), 'wt1.0000000000000000.stale\n', { mode: 0o600 });
    const second = await startAuthPlane({ dataDir });
    expect(second.plane.adminToken).toBeUndefined();
    expect((await readFile(join(dataDir, 'admin.token'), 'utf8')).trim()).toBe('wt1.0000000000000000.stale');
    expect((await call(second.plane, 'GET', '/api/v1/tokens', undefined, bearer(first.admin))).status).toBe(200);
  });

  describe.skipIf(etcdBinary === undefined)('on etcd', () => {
    let etcd: EtcdCluster | undefined;
    afterAll(async () => {
      await etcd?.close();
    });

    it('goes to the data dir of the first control plane; a second on the same etcd finds the token in the store and writes nothing', async () => {
      etcd = await startEtcd(etcdBinary!);
      const store = `etcd://${etcd.endpoints}/admin-token/`;
      const [dirA, dirB] = [join(await scratch(), 'a'), join(await scratch(), 'b')];
      const a = await startAuthPlane({ store, dataDir: dirA });
      expect(a.plane.adminTokenFile).toBe(join(dirA, 'admin.token'));
      const b = await startAuthPlane({ store, dataDir: dirB });
      expect(b.plane.adminToken).toBeUndefined();
      await expect(stat(join(dirB, 'admin.token'))).rejects.toMatchObject({ code: 'ENOENT' });
      const said = b.logs.filter((line) => line.includes('already holds an admin token'));
      expect(said).toHaveLength(1);
      expect(said[0]).not.toContain(a.admin.split('.')[2]);
      // One store, one set of tokens: the first one's admin token works on the second.
      expect((await call(b.plane, 'GET', '/api/v1/tokens', undefined, bearer(a.admin))).status).toBe(200);
    });
  });
});
