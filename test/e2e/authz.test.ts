// E2E: AuthorizationPolicy and rate limits on a real mesh — weft apply of a mixed file, 403 FORBIDDEN by caller, path, method and header, live changes, 429 with Retry-After, get/delete by kind.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, stopAll, waitForHttp } from '../support/index.js';
import { GREETER_APP, HttpClient, pollUntil, runWeft, startWeft, type Reply } from './weft-cli.js';

const AUTHZ = `kind: AuthorizationPolicy
service: api
default: deny
allowUnauthenticatedSources: true
rules:
  - from: { services: [frontend] }
    to: { methods: [GET], pathPrefix: /hello, headers: { x-env: prod } }
`;
// A rate this low refills nothing within the test: the counts are exact.
const LIMITS = `kind: ServicePolicy
service: api
rateLimits:
  - { match: { pathPrefix: /hello }, perSource: true, requestsPerSecond: 0.01, burst: 3 }
`;

interface SnapshotJson {
  kindPolicies: { AuthorizationPolicy?: Record<string, { default: string }> };
  policies: Record<string, { rateLimits?: unknown[] }>;
}

describe('authorization and rate limits between real sidecars', () => {
  let dir: string;
  let env: Record<string, string>;
  let apiAdmin: string;
  const outbound: Record<'frontend' | 'web', string> = { frontend: '', web: '' };
  const http = new HttpClient();

  const call = (from: 'frontend' | 'web', path: string, options: { method?: string; env?: string } = {}): Promise<Reply> =>
    http.send(`${outbound[from]}${path}`, { method: options.method ?? 'GET', headers: { host: 'api', 'x-env': options.env ?? 'prod' } });
  const snapshot = async () => JSON.parse((await http.send(`${apiAdmin}/snapshot`)).body) as SnapshotJson;
  const apply = async (name: string, text: string) => {
    const file = join(dir, name);
    await writeFile(file, text);
    return runWeft(['apply', '-f', file], env);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-e2e-authz-'));
    const [control, admin, frontend, web] = await freePorts(4);
    env = { WEFT_CONTROL: `http://127.0.0.1:${control}` };
    apiAdmin = `http://127.0.0.1:${admin}`;
    outbound.frontend = `http://127.0.0.1:${frontend}`;
    outbound.web = `http://127.0.0.1:${web}`;
    const controlProcess = startWeft('control', ['control', '--dev', '--listen', `127.0.0.1:${control}`]);
    await waitForHttp(`${env.WEFT_CONTROL}/healthz`, 15_000, { process: controlProcess });
    startWeft(
      'api',
      ['run', '--service', 'api', '--id', 'api-1', '--control', env.WEFT_CONTROL!, '--outbound', '127.0.0.1:0', '--admin', `127.0.0.1:${admin}`,
        '--health-interval', '200', '--', process.execPath, GREETER_APP],
      { group: true },
    );
    for (const caller of ['frontend', 'web'] as const) {
      const port = caller === 'frontend' ? frontend : web;
      startWeft(caller, ['proxy', '--service', caller, '--control', env.WEFT_CONTROL!, '--outbound', `127.0.0.1:${port}`, '--admin', '127.0.0.1:0']);
    }
    for (const caller of ['frontend', 'web'] as const) {
      await pollUntil(`${caller} to reach api`, 20_000, async () => ((await call(caller, '/hello')).status === 200 ? true : undefined));
    }
  }, 60_000);

  afterAll(async () => {
    http.close();
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies both kinds from one file and lists them with their kind', async () => {
    const applied = await apply('mesh.yaml', `${LIMITS}---\n${AUTHZ}`);
    expect(applied).toMatchObject({ code: 0, stdout: 'policy/api configured\nauthorizationpolicy/api configured\n' });
    expect((await apply('mesh.yaml', `${LIMITS}---\n${AUTHZ}`)).stdout).toBe('policy/api unchanged\nauthorizationpolicy/api unchanged\n');

    const table = (await runWeft(['get', 'policies'], env)).stdout.trim().split('\n');
    expect(table[0]).toMatch(/^KIND\s+SERVICE\s+LB\s+RETRY\s+TIMEOUT\s+ROUTES\s+RULES$/);
    expect(table[1]).toMatch(/^ServicePolicy\s+api\s+round-robin\s+.*\s1 rate limit$/);
    expect(table[2]).toMatch(/^AuthorizationPolicy\s+api\s+-\s+-\s+-\s+-\s+default deny, 1 rule$/);
    const one = JSON.parse((await runWeft(['get', 'policy', 'api', '--kind', 'authorizationpolicy', '-o', 'json'], env)).stdout) as { kind: string; rules: unknown[] };
    expect(one).toMatchObject({ kind: 'AuthorizationPolicy', allowUnauthenticatedSources: true, rules: [{ action: 'allow', from: { services: ['frontend'] } }] });
    // The ServicePolicy routes say exactly what they said before kinds.
    const legacy = JSON.parse((await http.send(`${env.WEFT_CONTROL}/api/v1/policies`)).body) as { policies: { kind: string }[] };
    expect(legacy.policies.map((p) => p.kind)).toEqual(['ServicePolicy']);
    const kindRoute = JSON.parse((await http.send(`${env.WEFT_CONTROL}/api/v1/authorization-policies/api`)).body) as { policy: { service: string } };
    expect(kindRoute.policy.service).toBe('api');
  });

  it('lets the allowed caller through and refuses others with 403 FORBIDDEN by caller, path, method and header', async () => {
    await pollUntil('the api sidecar to hold the policy', 10_000, async () => ((await snapshot()).kindPolicies.AuthorizationPolicy?.api ? true : undefined));
    expect((await call('frontend', '/hello')).status).toBe(200);
    const refused = [
      ['caller', await call('web', '/hello')],
      ['path', await call('frontend', '/stats')],
      ['method', await call('frontend', '/hello', { method: 'POST' })],
      ['header', await call('frontend', '/hello', { env: 'dev' })],
    ] as const;
    for (const [what, reply] of refused) {
      expect(reply.status, what).toBe(403);
      expect(reply.headers['x-weft-error'], what).toBe('FORBIDDEN');
    }
    const metrics = (await http.send(`${apiAdmin}/metrics`)).body;
    expect(metrics).toMatch(/weft_proxy_authz_denied_total\{destination="api",source="web"\} 1\n/);
    expect(metrics).toMatch(/weft_proxy_authz_denied_total\{destination="api",source="frontend"\} 3\n/);
  });

  it('takes a policy change live: default allow opens the service to every caller', async () => {
    expect((await apply('open.yaml', AUTHZ.replace('default: deny', 'default: allow'))).code).toBe(0);
    await pollUntil('web to be let through', 10_000, async () => ((await call('web', '/stats')).status === 200 ? true : undefined));
  });

  it('answers a burst beyond the limit with exactly the expected 429s and Retry-After, per source', async () => {
    // frontend spent one token above (its refused calls spent none); three per source in all.
    const replies: Reply[] = [];
    for (let i = 0; i < 6; i++) replies.push(await call('frontend', '/hello'));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 429, 429, 429, 429]);
    for (const reply of replies.slice(2)) {
      expect(reply.headers['x-weft-error']).toBe('RATE_LIMITED');
      const retryAfter = Number(reply.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(100);
    }
    // web has a bucket of its own, still full: its earlier calls came before the limit or were refused before it.
    const web: number[] = [];
    for (let i = 0; i < 4; i++) web.push((await call('web', '/hello')).status);
    expect(web).toEqual([200, 200, 200, 429]);
    // Outside the limited prefix nothing is counted.
    expect((await call('frontend', '/stats')).status).toBe(200);
    const metrics = (await http.send(`${apiAdmin}/metrics`)).body;
    expect(metrics).toMatch(/weft_proxy_rate_limited_total\{destination="api",source="frontend"\} 4\n/);
  });

  it('deletes a policy by kind, leaving the other kind in place', async () => {
    expect(await runWeft(['delete', 'policy', 'api', '--kind', 'AuthorizationPolicy'], env)).toMatchObject({ code: 0, stdout: 'authorizationpolicy/api deleted\n' });
    expect((await runWeft(['get', 'policy', 'api', '--kind', 'AuthorizationPolicy'], env)).stderr).toContain('[NOT_FOUND]');
    expect((await runWeft(['get', 'policy', 'api', '-o', 'json'], env)).code).toBe(0);
    await pollUntil('the api sidecar to drop the policy', 10_000, async () => ((await snapshot()).kindPolicies.AuthorizationPolicy?.api ? undefined : true));
    expect((await snapshot()).policies.api?.rateLimits).toHaveLength(1);
  });
});
