// Config: policy files — several documents, stdin, and errors that name the file, the document, the path and the expectation.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyFile, parsePolicyText, type AnyPolicy } from '../../src/config/index.js';
import type { AuthorizationPolicy, ServicePolicy } from '../../src/model/index.js';

function asService(policy: AnyPolicy | undefined): ServicePolicy {
  if (policy?.kind !== 'ServicePolicy') throw new Error(`expected a ServicePolicy, got ${policy?.kind}`);
  return policy;
}

const greeter = 'kind: ServicePolicy\nservice: greeter\nloadBalancer: { algorithm: p2c-ewma }\n';
const AUTHZ =
  'kind: AuthorizationPolicy\nservice: greeter\nrules:\n  - from: { services: [frontend] }\n    to: { methods: [GET], pathPrefix: /public, headers: { x-env: prod } }\n  - { from: { unauthenticated: true }, action: deny }\n';
const billing = 'kind: ServicePolicy\nservice: billing\nretry: { on: [connect-failure, 503] }\n';

function message(text: string, name = 'policies.yaml'): string {
  try {
    parsePolicyText(name, text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('policy files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-policy-file-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads every document of a file, skipping empty ones, with defaults filled in', async () => {
    const file = join(dir, 'policies.yaml');
    await writeFile(file, `# mesh policies\n${greeter}---\n${billing}---\n`);
    const docs = await loadPolicyFile(file);
    expect(docs.map((d) => [d.source, d.policy.service])).toEqual([
      [`${file} (document 1)`, 'greeter'],
      [`${file} (document 2)`, 'billing'],
    ]);
    expect(asService(docs[0]?.policy).loadBalancer.algorithm).toBe('p2c-ewma');
    expect(asService(docs[1]?.policy).retry.on).toEqual(['connect-failure', '503']);
    expect(asService(docs[1]?.policy).timeout.requestMs).toBe(15_000);
  });

  it('reads mixed kinds in one file; the same service may have one policy of each kind', () => {
    const text = `${greeter}rateLimits:\n  - { match: { pathPrefix: /api }, perSource: true, requestsPerSecond: 2.5 }\n---\n${AUTHZ}`;
    const docs = parsePolicyText('mixed.yaml', text);
    expect(docs.map((d) => [d.policy.kind, d.policy.service])).toEqual([
      ['ServicePolicy', 'greeter'],
      ['AuthorizationPolicy', 'greeter'],
    ]);
    expect(asService(docs[0]?.policy).rateLimits).toEqual([{ match: { pathPrefix: '/api' }, perSource: true, requestsPerSecond: 2.5, burst: 3 }]);
    const authz = docs[1]?.policy as AuthorizationPolicy;
    expect(authz).toEqual({
      kind: 'AuthorizationPolicy',
      service: 'greeter',
      default: 'deny',
      allowUnauthenticatedSources: false,
      rules: [
        { from: { services: ['frontend'] }, to: { methods: ['GET'], pathPrefix: '/public', headers: { 'x-env': 'prod' } }, action: 'allow' },
        { from: { unauthenticated: true }, action: 'deny' },
      ],
    });
  });

  it('reads standard input for "-"', async () => {
    const docs = await loadPolicyFile('-', async () => greeter);
    expect(docs).toEqual([{ source: 'stdin', policy: expect.objectContaining({ service: 'greeter' }) }]);
  });

  it.each([
    [`${greeter}---\n${billing.replace('503', '0.5')}`, 'policies.yaml (document 2) at retry.on[1]: expected one of: connect-failure, reset, gateway-error, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable, or an HTTP status code as a string such as "503"'],
    [`${greeter}---\nkind: ServicePolicy\nservice: a\nretry: { budget: { ratio: 2 } }\n`, 'policies.yaml (document 2) at retry.budget.ratio: expected a number from 0 to 1'],
    [`${greeter}retires: 3\n`, 'policies.yaml at retires: unknown key; expected one of the documented policy fields (docs/policies.md)'],
    ['kind: ServicePolicy\nservice: a\nroutes:\n  - match: { headers: { x-canary: 1 } }\n    backends: [ { subset: { version: v2 } } ]\n', 'policies.yaml at routes[0].match.headers.x-canary: expected a string value (quote numbers)'],
    ['service: greeter\n', 'policies.yaml at kind: expected "ServicePolicy" or "AuthorizationPolicy" or "JwtPolicy"'],
    ['kind: Deployment\nservice: greeter\n', 'policies.yaml at kind: expected "ServicePolicy" or "AuthorizationPolicy" or "JwtPolicy"'],
    ['- kind: ServicePolicy\n', 'policies.yaml at (top level): expected a policy mapping with kind "ServicePolicy" or "AuthorizationPolicy" or "JwtPolicy"'],
    [`${AUTHZ}---\n${AUTHZ}`, 'policies.yaml (document 2) at service: expected each service once per kind; AuthorizationPolicy "greeter" is already defined in policies.yaml (document 1)'],
    ['kind: AuthorizationPolicy\nservice: a\ndefault: maybe\n', 'policies.yaml at default: expected allow or deny'],
    ['kind: AuthorizationPolicy\nservice: a\nrules: [ { from: {} } ]\n', 'policies.yaml at rules[0].from: expected at least one of services, identities or unauthenticated (leave "from" out to match every caller)'],
    ['kind: AuthorizationPolicy\nservice: a\nrules: [ { to: { methods: [get] } } ]\n', 'policies.yaml at rules[0].to.methods[0]: expected an HTTP method in capitals, such as GET'],
    ['kind: AuthorizationPolicy\nservice: a\nrules: [ { from: { identities: [api] } } ]\n', 'policies.yaml at rules[0].from.identities[0]: expected a SPIFFE id such as spiffe://weft.local/service/api'],
    ['kind: AuthorizationPolicy\nservice: a\nrules: [ { action: allow, verb: x } ]\n', 'policies.yaml at rules[0].verb: unknown key; expected one of the documented policy fields (docs/policies.md)'],
    ['kind: JwtPolicy\nservice: a\nproviders: []\n', 'policies.yaml at providers: expected at least one provider'],
    ['kind: ServicePolicy\nservice: a\nrateLimits: [ { requestsPerSecond: 0 } ]\n', 'policies.yaml at rateLimits[0].requestsPerSecond: expected a number of requests per second above 0, at most 1000000'],
    ['kind: ServicePolicy\nservice: a\nrateLimits: [ { requestsPerSecond: 5, burst: 0 } ]\n', 'policies.yaml at rateLimits[0].burst: expected a whole number from 1 to 10000000'],
    ['kind: ServicePolicy\n', 'policies.yaml at service: expected a service name'],
    [`${greeter}---\n${greeter}`, 'policies.yaml (document 2) at service: expected each service once per kind; ServicePolicy "greeter" is already defined in policies.yaml (document 1)'],
    ['# nothing here\n', 'policies.yaml: expected at least one policy document (kind: ServicePolicy or AuthorizationPolicy or JwtPolicy)'],
  ])('names file, document, path and expectation: %j', (text, expected) => {
    expect(message(text)).toBe(expected);
  });

  it('accepts every policy example in docs/security.md', async () => {
    const text = await readFile(new URL('../../docs/security.md', import.meta.url), 'utf8');
    const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of blocks) expect(parsePolicyText('docs/security.md', block).length).toBe(1);
  });

  it('reports YAML syntax errors with their line and column', () => {
    expect(message(`${greeter}---\nkind: ServicePolicy\nservice: [billing\n`)).toMatch(/^policies\.yaml \(document 2\) at line \d+, column \d+: expected valid YAML/);
    expect(message('kind: ServicePolicy\nkind: ServicePolicy\nservice: a\n')).toMatch(/^policies\.yaml at line 2, column 1: expected valid YAML \(DUPLICATE_KEY\)/);
  });

  it('says when a file cannot be read', async () => {
    await expect(loadPolicyFile(join(dir, 'absent.yaml'))).rejects.toThrow(/absent\.yaml: cannot read file \(ENOENT\)/);
  });
});
