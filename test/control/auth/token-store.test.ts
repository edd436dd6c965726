// Control auth: the token store on every registry backend — create, check, list, revoke, expiry and pruning — and a registry beside it on the same store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { JOIN_TOKEN_DEFAULT_TTL_MS, parseToken, TOKEN_PREFIX, TokenStore } from '../../../src/control/auth/index.js';
import { ManualClock, type Runtime } from '../../../src/core/index.js';
import { EmbeddedBackend, MemoryBackend, openEtcdBackend, parseEtcdUrl, Registry, type RegistryBackend } from '../../../src/registry/index.js';
import { createRuntime } from '../../../src/telemetry/index.js';
import { requireEtcd, startEtcd, type EtcdCluster } from '../../support/index.js';

const runtime = (): Runtime => createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) });
const etcdBinary = await requireEtcd();
let etcd: EtcdCluster | undefined;
let prefixes = 0;
const dirs: string[] = [];
const backends: RegistryBackend[] = [];

afterEach(async () => {
  for (const backend of backends.splice(0)) await backend.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
afterAll(async () => {
  await etcd?.close();
});

const fixtures: Array<{ name: string; open: () => Promise<RegistryBackend> }> = [
  { name: 'memory', open: async () => new MemoryBackend() },
  {
    name: 'embedded',
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'weft-tokens-'));
      dirs.push(dir);
      return EmbeddedBackend.open(dir, runtime());
    },
  },
  ...(etcdBinary === undefined
    ? []
    : [
        {
          name: 'etcd',
          open: async () => {
            etcd ??= await startEtcd(etcdBinary);
            return openEtcdBackend(parseEtcdUrl(`etcd://${etcd.endpoints}/tokens-${++prefixes}/`), runtime());
          },
        },
      ]),
];

describe.each(fixtures)('token store on the $name backend', ({ open }) => {
  const setup = async (start = Date.parse('2030-01-01T00:00:00Z')) => {
    const backend = await open();
    backends.push(backend);
    const clock = new ManualClock(start);
    return { backend, clock, tokens: new TokenStore(backend, clock) };
  };

  it('makes wt1.<id>.<secret> tokens, keeps only the hash of the secret, and checks them', async () => {
    const { backend, tokens } = await setup();
    const created = await tokens.create({ kind: 'join', service: 'api', description: 'ci' });
    expect(created.token).toMatch(/^wt1\.[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
    const parts = parseToken(created.token)!;
    expect(created.info).toMatchObject({ id: parts.id, kind: 'join', service: 'api', description: 'ci' });
    const stored = (await backend.list(TOKEN_PREFIX)).items;
    expect(stored.map((item) => item.key)).toEqual([`${TOKEN_PREFIX}${parts.id}`]);
    expect(Buffer.from(stored[0]!.value).toString('utf8')).not.toContain(parts.secret);

    expect(await tokens.check(created.token)).toEqual({ ok: true, info: created.info });
    const wrongSecret = `wt1.${parts.id}.${'A'.repeat(43)}`;
    expect(await tokens.check(wrongSecret)).toEqual({ ok: false, reason: 'unknown' });
    expect(await tokens.check(`wt1.${'0'.repeat(16)}.${parts.secret}`)).toEqual({ ok: false, reason: 'unknown' });
    expect(await tokens.check('not-a-token')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('gives join tokens 24 h by default and admin tokens no expiry unless told; refuses and prunes expired ones', async () => {
    const { clock, tokens } = await setup();
    const join = await tokens.create({ kind: 'join', service: 'api' });
    const admin = await tokens.create({ kind: 'admin' });
    const shortAdmin = await tokens.create({ kind: 'admin', ttlMs: 60_000 });
    expect(Date.parse(join.info.expiresAt!) - Date.parse(join.info.createdAt)).toBe(JOIN_TOKEN_DEFAULT_TTL_MS);
    expect(admin.info.expiresAt).toBeUndefined();
    expect(await tokens.hasAdmin()).toBe(true);

    clock.advance(60_000);
    expect(await tokens.check(shortAdmin.token)).toEqual({ ok: false, reason: 'expired' });
    // Pruned: now it is gone, like a revoked token.
    expect(await tokens.check(shortAdmin.token)).toEqual({ ok: false, reason: 'unknown' });

    clock.advance(JOIN_TOKEN_DEFAULT_TTL_MS);
    expect((await tokens.list()).map((info) => info.id)).toEqual([admin.info.id]);
    expect(await tokens.check(join.token)).toEqual({ ok: false, reason: 'unknown' });
    expect((await tokens.check(admin.token)).ok).toBe(true);
  });

  it('lists without secrets, revokes by deleting, and says when a token to revoke does not exist', async () => {
    const { tokens } = await setup();
    const first = await tokens.create({ kind: 'admin', description: 'first' });
    const second = await tokens.create({ kind: 'join', service: 'web' });
    const listed = await tokens.list();
    expect(listed.map((info) => info.id).sort()).toEqual([first.info.id, second.info.id].sort());
    expect(JSON.stringify(listed)).not.toContain(parseToken(first.token)!.secret);

    await tokens.revoke(second.info.id);
    expect(await tokens.check(second.token)).toEqual({ ok: false, reason: 'unknown' });
    expect((await tokens.list()).map((info) => info.id)).toEqual([first.info.id]);
    await expect(tokens.revoke(second.info.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(tokens.revoke('../instances')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await tokens.revoke(first.info.id);
    expect(await tokens.hasAdmin()).toBe(false);
  });

  it('leaves a registry on the same store undisturbed: token writes are not instances, policies or changes', async () => {
    const { backend, tokens } = await setup();
    const registry = await Registry.open(backend, runtime());
    try {
      const changes: string[] = [];
      const subscription = registry.watch(undefined, (event) => changes.push(event.type));
      await registry.register({ id: 'a-1', service: 'api', host: '127.0.0.1', port: 9000 });
      const created = await tokens.create({ kind: 'join', service: 'api' });
      await tokens.revoke(created.info.id);
      const after = await registry.register({ id: 'a-2', service: 'api', host: '127.0.0.1', port: 9001 });
      expect(registry.instances('api').map((i) => i.id)).toEqual(['a-1', 'a-2']);
      expect(registry.version()).toBe(after.version);
      expect(changes.filter((type) => type !== 'reset')).toEqual(['upsert', 'upsert']);
      subscription.unsubscribe();
    } finally {
      await registry.close();
    }
  });
});

describe('token requests', () => {
  const tokens = new TokenStore(new MemoryBackend(), new ManualClock(0));
  it.each([
    [{ kind: 'root' }, 'kind'],
    [{ kind: 'join' }, 'service'],
    [{ kind: 'join', service: 'Not_A_Name' }, 'service'],
    [{ kind: 'admin', service: 'api' }, 'service'],
    [{ kind: 'join', service: 'api', ttlMs: 5 }, 'ttlMs'],
    [{ kind: 'join', service: 'api', ttlMs: 1.5e3 + 0.5 }, 'ttlMs'],
    [{ kind: 'join', service: 'api', description: 'x'.repeat(201) }, 'description'],
    [{ kind: 'join', service: 'api', secret: 'mine' }, 'secret'],
  ])('refuses %j naming the field %s', async (body, field) => {
    await expect(tokens.create(body)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field });
  });
});
