// CLI: weft apply / get / delete of service policies, end to end through the built command against a real `weft control --dev`.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePorts, stopAll, waitForHttp } from '../support/index.js';
import { runWeft, startWeft, WEFT_BIN, type CliResult } from '../e2e/weft-cli.js';

const ISSUE_EXAMPLE = `kind: ServicePolicy
service: greeter
loadBalancer: { algorithm: p2c-ewma }
timeout: { requestMs: 2000, perTryMs: 500 }
retry: { attempts: 3, on: [connect-failure, reset, gateway-error, "503"], budget: { ratio: 0.2, minPerSecond: 10 }, backoff: { baseMs: 25, maxMs: 250 } }
circuitBreaker: { maxConnections: 1024, maxPendingRequests: 1024, consecutiveFailures: 5, openMs: 10000 }
outlierDetection: { consecutive5xx: 5, consecutiveGatewayErrors: 5, baseEjectionMs: 30000, maxEjectionPercent: 50 }
healthCheck: { http: { path: /healthz }, intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 2 }
routes:
  - match: { headers: { x-canary: "1" } }
    backends: [ { subset: { version: v2 }, weight: 100 } ]
  - match: { pathPrefix: / }
    backends: [ { subset: { version: v1 }, weight: 90 }, { subset: { version: v2 }, weight: 10 } ]
    fault: { delay: { percent: 0, ms: 0 }, abort: { percent: 0, status: 503 } }
`;
const BILLING = 'kind: ServicePolicy\nservice: billing\nloadBalancer: { algorithm: ring-hash, hashOn: { header: x-user } }\n';

/** Runs `weft` with text on standard input. */
function runWithInput(args: readonly string[], input: string, env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WEFT_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

describe('weft apply / get / delete policies', () => {
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-cli-policy-'));
    const [port] = await freePorts(1);
    env = { WEFT_CONTROL: `http://127.0.0.1:${port}` };
    const control = startWeft('control', ['control', '--dev', '--listen', `127.0.0.1:${port}`]);
    await waitForHttp(`${env.WEFT_CONTROL}/healthz`, 15_000, { process: control });
  });

  afterAll(async () => {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies a file of several documents, then reports unchanged, and shows the policies', async () => {
    const file = join(dir, 'policies.yaml');
    await writeFile(file, `${ISSUE_EXAMPLE}---\n${BILLING}`);
    const applied = await runWeft(['apply', '-f', file], env);
    expect(applied).toMatchObject({ code: 0, stdout: 'policy/greeter configured\npolicy/billing configured\n' });
    expect((await runWeft(['apply', '-f', file], env)).stdout).toBe('policy/greeter unchanged\npolicy/billing unchanged\n');

    const table = await runWeft(['get', 'policies'], env);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^KIND\s+SERVICE\s+LB\s+RETRY\s+TIMEOUT\s+ROUTES\s+RULES$/);
    expect(lines[1]).toMatch(/^ServicePolicy\s+billing\s+ring-hash\(header:x-user\)\s+3x connect-failure,reset,unavailable\s+15000ms\s+0\s+-$/);
    expect(lines[2]).toMatch(/^ServicePolicy\s+greeter\s+p2c-ewma\s+3x connect-failure,reset,gateway-error,503\s+2000ms\/500ms per try\s+2\s+-$/);

    const json = JSON.parse((await runWeft(['get', 'policies', '--json'], env)).stdout) as Array<{ service: string }>;
    expect(json.map((p) => p.service)).toEqual(['billing', 'greeter']);

    const yaml = await runWeft(['get', 'policy', 'greeter', '-o', 'yaml'], env);
    expect(parse(yaml.stdout)).toMatchObject(parse(ISSUE_EXAMPLE) as Record<string, unknown>);
    const one = JSON.parse((await runWeft(['get', 'policy', 'greeter', '-o', 'json'], env)).stdout) as { timeout: unknown };
    expect(one.timeout).toEqual({ requestMs: 2000, perTryMs: 500 });
  });

  it('applies from standard input and round-trips `get -o yaml` output', async () => {
    const fromStdin = await runWithInput(['apply', '-f', '-'], 'kind: ServicePolicy\nservice: stdin-svc\ntimeout: { requestMs: 300 }\n', env);
    expect(fromStdin).toMatchObject({ code: 0, stdout: 'policy/stdin-svc configured\n' });
    const exported = await runWeft(['get', 'policy', 'stdin-svc'], env);
    const reapplied = await runWithInput(['apply', '-f', '-'], exported.stdout, env);
    expect(reapplied.stdout).toBe('policy/stdin-svc unchanged\n');
  });

  it('deletes a policy, and says so when it is gone', async () => {
    await runWithInput(['apply', '-f', '-'], 'kind: ServicePolicy\nservice: doomed\n', env);
    expect(await runWeft(['delete', 'policy', 'doomed'], env)).toMatchObject({ code: 0, stdout: 'policy/doomed deleted\n' });
    const again = await runWeft(['delete', 'policy', 'doomed'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('policy "doomed" not found [NOT_FOUND]');
    expect((await runWeft(['get', 'policy', 'doomed'], env)).stderr).toContain('[NOT_FOUND]');
  });

  it('names the file, the document, the path and the expectation, and stores nothing from a bad file', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, `kind: ServicePolicy\nservice: first-ok\n---\nkind: ServicePolicy\nservice: second\nretry: { budget: { ratio: 1.5 } }\n`);
    const bad = await runWeft(['apply', '-f', file], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${file} (document 2) at retry.budget.ratio: expected a number from 0 to 1 [CONFIG_INVALID]`);
    expect(bad.stdout).toBe('');
    expect((await runWeft(['get', 'policy', 'first-ok'], env)).code).toBe(1);

    await writeFile(file, 'kind: ServicePolicy\nservice: greeter\nloadBalancer: { algoritm: random }\n');
    expect((await runWeft(['apply', '-f', file], env)).stderr).toContain(`${file} at loadBalancer.algoritm: unknown key`);

    const missing = await runWeft(['apply', '-f', join(dir, 'absent.yaml')], env);
    expect(missing.stderr).toMatch(/absent\.yaml: cannot read file \(ENOENT\)/);
  });

  it.each([
    [['apply'], /required option '-f, --filename <file>' not specified/],
    [['get', 'widgets'], /expected one of: policies, policy, got "widgets"/],
    [['get', 'policy', 'Bad_Name'], /expected a service name/],
    [['get', 'policies', '-o', 'xml'], /expected one of: table, yaml, json, got "xml"/],
    [['delete', 'service', 'greeter'], /expected policy, got "service"/],
    [['get', 'policy', 'greeter', '--kind', 'Widget'], /expected one of: ServicePolicy, AuthorizationPolicy, JwtPolicy, got "Widget"/],
    [['delete', 'policy', 'greeter', '--kind', 'Widget'], /expected one of: ServicePolicy, AuthorizationPolicy, JwtPolicy, got "Widget"/],
  ])('rejects %j with exit code 2', async (args, message) => {
    const result = await runWeft(args, env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
