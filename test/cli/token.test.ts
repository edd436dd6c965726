// CLI: `weft token` and the authentication flags of `weft control`, through the built command against real control planes.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, stopAll, waitForHttp, type ManagedProcess } from '../support/index.js';
import { runWeft, startWeft } from '../e2e/weft-cli.js';

describe('weft token', () => {
  let dir: string;
  let control: ManagedProcess;
  let controlUrl: string;
  let admin: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-cli-token-'));
    const [port] = await freePorts(1);
    controlUrl = `http://127.0.0.1:${port}`;
    control = startWeft('control', ['control', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data')]);
    await waitForHttp(`${controlUrl}/healthz`, 15_000, { process: control });
    admin = (await readFile(join(dir, 'data', 'admin.token'), 'utf8')).trim();
    env = { WEFT_CONTROL: controlUrl, WEFT_TOKEN: admin };
  }, 30_000);

  afterAll(async () => {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  });

  it('weft control names the admin token file on first start, never the token', async () => {
    await expect.poll(() => control.output(), { timeout: 5_000 }).toContain(`admin token written to ${join(dir, 'data', 'admin.token')}`);
    const output = control.output();
    expect(output).not.toContain(admin);
    expect(output).not.toContain(admin.split('.')[2]);
  });

  it('create --service prints only the token and a newline, which then registers that service', async () => {
    const created = await runWeft(['token', 'create', '--service', 'api', '--description', 'ci runner'], env);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^wt1\.[0-9a-f]{16}\.[A-Za-z0-9_-]{43}\n$/);
    const token = created.stdout.trim();
    const put = (service: string) =>
      fetch(`${controlUrl}/api/v1/instances/${service}-1`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ service, host: '127.0.0.1', port: 9 }),
      }).then((res) => res.status);
    expect(await put('api')).toBe(201);
    expect(await put('web')).toBe(403);
  });

  it('lists tokens as a table and as JSON, and revokes by id', async () => {
    const created = await runWeft(['token', 'create', '--service', 'web', '--ttl', '90s'], env);
    const id = created.stdout.trim().split('.')[1]!;
    const table = await runWeft(['token', 'list'], env);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+KIND\s+SERVICE\s+EXPIRES\s+DESCRIPTION$/);
    expect(lines.find((line) => line.startsWith(id))).toMatch(new RegExp(`^${id}\\s+join\\s+web\\s+\\d{4}-\\d\\d-\\d\\dT`));
    expect(lines.some((line) => /\sadmin\s+-\s+never\s/.test(line))).toBe(true);
    expect(table.stdout).not.toContain(admin.split('.')[2]);

    const json = JSON.parse((await runWeft(['token', 'list', '--json'], env)).stdout) as { tokens: Array<{ id: string; expiresAt?: string; createdAt: string }> };
    const listed = json.tokens.find((t) => t.id === id)!;
    expect(Date.parse(listed.expiresAt!) - Date.parse(listed.createdAt)).toBe(90_000);

    const revoked = await runWeft(['token', 'revoke', id], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe(`revoked token ${id}\n`);
    expect((await runWeft(['token', 'list', '--json'], env)).stdout).not.toContain(id);
    const again = await runWeft(['token', 'revoke', id], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('NOT_FOUND');
  });

  it('refuses without the admin token, and explains bad flags', async () => {
    const join = await runWeft(['token', 'create', '--service', 'api'], env);
    const withJoin = await runWeft(['token', 'create', '--admin'], { WEFT_CONTROL: controlUrl, WEFT_TOKEN: join.stdout.trim() });
    expect(withJoin.code).toBe(1);
    expect(withJoin.stderr).toContain('FORBIDDEN');
    expect(withJoin.stdout).toBe('');
    const without = await runWeft(['token', 'list', '--token', 'wt1.0000000000000000.nope'], { WEFT_CONTROL: controlUrl });
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('UNAUTHENTICATED');
    const neither = await runWeft(['token', 'create'], env);
    expect(neither.code).toBe(1);
    expect(neither.stderr).toContain('--service NAME');
    const badTtl = await runWeft(['token', 'create', '--service', 'api', '--ttl', '1 week'], env);
    expect(badTtl.code).toBe(2);
    expect(badTtl.stderr).toContain('90s, 30m, 24h or 7d');
  });
});

describe('weft control authentication flags', () => {
  afterAll(() => stopAll());

  it('says that --dev turns authentication off, and --open-read opens reads only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-cli-open-read-'));
    try {
      const [devPort, openPort] = await freePorts(2);
      const dev = startWeft('control-dev', ['control', '--dev', '--listen', `127.0.0.1:${devPort}`]);
      await waitForHttp(`http://127.0.0.1:${devPort}/healthz`, 15_000, { process: dev });
      await expect.poll(() => dev.output(), { timeout: 5_000 }).toContain('API authentication is off (--dev)');

      const open = startWeft('control-open', ['control', '--open-read', '--listen', `127.0.0.1:${openPort}`, '--data-dir', join(dir, 'data')]);
      const url = `http://127.0.0.1:${openPort}`;
      await waitForHttp(`${url}/healthz`, 15_000, { process: open });
      await expect.poll(() => open.output(), { timeout: 5_000 }).toContain('reads are open (--open-read)');
      const services = await runWeft(['services', '--control', url, '--token', '']);
      expect(services.code, services.stderr).toBe(0);
      const write = await fetch(`${url}/api/v1/instances/x-1`, { method: 'PUT', body: JSON.stringify({ service: 'x', host: '127.0.0.1', port: 9 }) });
      expect(write.status).toBe(401);
    } finally {
      await stopAll();
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
