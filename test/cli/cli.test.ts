// CLI: usage errors, config-file errors and `weft run` behaviour, through the real built command.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, signalProcess, stopAll, waitForHttp } from '../support/index.js';
import { pollUntil, runWeft, startWeft } from '../e2e/weft-cli.js';

describe('weft command line', () => {
  let dir: string;
  let controlUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-cli-'));
    const [port] = await freePorts(1);
    controlUrl = `http://127.0.0.1:${port}`;
    const control = startWeft('control', ['control', '--dev', '--listen', `127.0.0.1:${port}`]);
    await waitForHttp(`${controlUrl}/healthz`, 15_000, { process: control });
  });

  afterAll(async () => {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints help right away', async () => {
    const result = await runWeft(['--help']);
    expect(result.code).toBe(0);
    for (const verb of ['control', 'proxy', 'run', 'services', 'instances', 'demo']) expect(result.stdout).toContain(verb);
  });

  it.each([
    [['proxy', '--service', 'greeter', '--app-port', 'abc'], /--app-port.*expected a whole number, got "abc"/],
    [['proxy', '--service', 'greeter', '--app-port', '70000'], /expected 1 to 65535, got 70000/],
    [['proxy', '--service', 'greeter', '--outbound', 'localhost'], /expected HOST:PORT/],
    [['proxy', '--service', 'Bad_Name'], /expected a service name/],
    [['proxy', '--service', 'a', '--lb', 'greeter=fastest'], /unknown algorithm "fastest"; expected one of: round-robin, random, least-connections/],
    [['proxy', '--service', 'a', '--lb', 'greeter'], /expected SERVICE=ALGORITHM/],
    [['proxy', '--service', 'a', '--control', 'ftp://x'], /expected an http:\/\/ or https:\/\/ URL/],
    [['proxy', '--service', 'a', '--control', 'http://127.0.0.1:8500,ftp://x'], /--control.*expected an http:\/\/ or https:\/\/ URL, got "ftp:\/\/x"/],
    [['services', '--control', 'http://127.0.0.1:8500,,http://127.0.0.1:8501'], /without empty entries/],
    [['control', '--listen', 'nope'], /expected HOST:PORT/],
    [['instances'], /missing required argument 'service'/],
    [['proxy', '--bogus'], /unknown option '--bogus'/],
  ])('rejects %j with a clear message and exit code 2', async (args, message) => {
    const result = await runWeft(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('requires --service for a sidecar', async () => {
    const result = await runWeft(['proxy', '--control', controlUrl]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--service: expected the name of the service/);
  });

  it('names the file, the path inside it and the expectation for a bad config file', async () => {
    const file = join(dir, 'sidecar.yaml');
    await writeFile(file, 'service: greeter\nupstreams:\n  billing:\n    lb: fastest\n');
    const result = await runWeft(['proxy', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file} at upstreams.billing.lb: expected one of: round-robin, random, least-connections`);

    await writeFile(file, 'service: greeter\nappPort: [1\n');
    const yamlError = await runWeft(['proxy', '--config', file]);
    expect(yamlError.stderr).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')} at line \\d+, column \\d+: expected valid YAML`));

    await writeFile(file, 'service: greeter\ninstance:\n  wieght: 2\n');
    const unknownKey = await runWeft(['proxy', '--config', file]);
    expect(unknownKey.stderr).toContain(`${file} at instance.wieght: unknown key`);

    const missing = await runWeft(['proxy', '--config', join(dir, 'absent.yaml')]);
    expect(missing.stderr).toMatch(/absent\.yaml: cannot read file \(ENOENT\)/);
  });

  it('says the control plane is unreachable, naming the URL', async () => {
    const [port] = await freePorts(1);
    const result = await runWeft(['services', '--control', `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`127.0.0.1:${port}`);
    expect(result.stderr).toContain('CONTROL_UNAVAILABLE');
  });

  it('fails over to the next control-plane URL, and names every URL when none answers', async () => {
    const [dead1, dead2] = await freePorts(2);
    const deadUrl = `http://127.0.0.1:${dead1}`;
    const viaFlag = await runWeft(['services', '--json', '--control', `${deadUrl},${controlUrl}`]);
    expect(viaFlag.code).toBe(0);
    expect(JSON.parse(viaFlag.stdout)).toMatchObject({ services: [] });
    const viaEnv = await runWeft(['instances', 'greeter', '--json'], { WEFT_CONTROL: `${deadUrl},${controlUrl}` });
    expect(viaEnv.code).toBe(0);
    expect(JSON.parse(viaEnv.stdout)).toMatchObject({ service: 'greeter', instances: [] });

    const none = await runWeft(['services', '--control', `${deadUrl},http://127.0.0.1:${dead2}`]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(deadUrl);
    expect(none.stderr).toContain(`http://127.0.0.1:${dead2}`);
    expect(none.stderr).toContain('[CONTROL_UNAVAILABLE]');

    const badEnv = await runWeft(['services'], { WEFT_CONTROL: `${controlUrl},localhost` });
    expect(badEnv.code).toBe(1);
    expect(badEnv.stderr).toContain('WEFT_CONTROL: expected a URL such as http://127.0.0.1:8500, got "localhost" [CONFIG_INVALID]');
  });

  it('lists services as a table and as JSON (WEFT_CONTROL works too)', async () => {
    const empty = await runWeft(['services'], { WEFT_CONTROL: controlUrl });
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/^SERVICE\s+INSTANCES\s+PASSING\s+CRITICAL/);
    const json = await runWeft(['services', '--json', '--control', controlUrl]);
    expect(JSON.parse(json.stdout)).toMatchObject({ services: [] });
  });

  it('weft run gives the app PORT and WEFT_OUTBOUND and exits with the app\'s code', async () => {
    const script = [
      "const http = require('node:http');",
      'const s = http.createServer((q, r) => r.end(process.env.WEFT_OUTBOUND));',
      's.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("env", process.env.PORT, process.env.WEFT_OUTBOUND));',
      'setTimeout(() => process.exit(7), 2500);',
    ].join('\n');
    const result = await runWeft(
      ['run', '--service', 'echo', '--control', controlUrl, '--outbound', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--', process.execPath, '-e', script],
      {},
      20_000,
    );
    expect(result.code).toBe(7);
    expect(result.stdout).toMatch(/env \d+ http:\/\/127\.0\.0\.1:\d+/);
  });

  it('weft run deregisters the instance before the app gets SIGTERM', async () => {
    const script = [
      "const http = require('node:http');",
      'const s = http.createServer((q, r) => r.end("ok"));',
      's.listen(Number(process.env.PORT), "127.0.0.1");',
      'process.on("SIGTERM", () => {',
      '  http.get(process.env.CONTROL + "/api/v1/services/ordered/instances", (r) => {',
      '    let body = ""; r.on("data", (c) => (body += c));',
      '    r.on("end", () => { console.log("instances at SIGTERM: " + JSON.parse(body).instances.length); process.exit(0); });',
      '  });',
      '});',
    ].join('\n');
    const run = startWeft(
      'ordered',
      ['run', '--service', 'ordered', '--control', controlUrl, '--outbound', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--', process.execPath, '-e', script],
      { env: { CONTROL: controlUrl } },
    );
    await pollUntil('the instance to register', 15_000, async () => {
      const listed = await runWeft(['instances', 'ordered', '--json', '--control', controlUrl]);
      return (JSON.parse(listed.stdout) as { instances: unknown[] }).instances.length === 1 ? true : undefined;
    });
    signalProcess(run, 'SIGTERM');
    const exit = await run.exited;
    expect(exit.code).toBe(0);
    expect(run.output()).toContain('instances at SIGTERM: 0');
  });

  it('weft run gives the app a port none of its own listeners has, fixed ones included', async () => {
    const [outbound, admin] = await freePorts(2);
    const script = [
      "const http = require('node:http');",
      'const s = http.createServer((q, r) => r.end("ok"));',
      's.on("error", (e) => { console.log("app failed", e.code); process.exit(3); });',
      's.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("app port", process.env.PORT));',
      'setTimeout(() => process.exit(7), 2500);',
    ].join('\n');
    const result = await runWeft(
      ['run', '--service', 'own-ports', '--control', controlUrl, '--outbound', `127.0.0.1:${outbound}`, '--admin', `127.0.0.1:${admin}`, '--', process.execPath, '-e', script],
      {},
      20_000,
    );
    expect(result.code).toBe(7);
    const port = Number(/app port (\d+)/.exec(result.stdout)?.[1]);
    expect(port).toBeGreaterThan(0);
    expect([outbound, admin]).not.toContain(port);
  });

  it.each([
    ['run', '--outbound', '--outbound', (port: number) => ['--outbound', `127.0.0.1:${port}`, '--admin', '127.0.0.1:0']],
    ['run', '--admin', '--admin', (port: number) => ['--outbound', '127.0.0.1:0', '--admin', `0.0.0.0:${port}`]],
    ['proxy', '--inbound', '--inbound', (port: number) => ['--inbound', `127.0.0.1:${port}`, '--outbound', '127.0.0.1:0', '--admin', '127.0.0.1:0']],
  ])('weft %s refuses --app-port equal to the port of %s with exit code 2, before starting anything', async (verb, _name, flag, listeners) => {
    const [port] = await freePorts(1);
    const app = verb === 'run' ? ['--', process.execPath, '-e', 'console.log("app started")'] : [];
    const result = await runWeft([verb, '--service', 'clash', '--control', controlUrl, '--app-port', String(port), ...listeners(port!), ...app]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--app-port: ${port} is the port of the sidecar's own ${flag} listener`);
    expect(result.stdout).not.toContain('app started');
  });

  it('weft run reports a command that does not exist', async () => {
    const result = await runWeft(['run', '--service', 'nothing', '--control', controlUrl, '--outbound', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--', 'no-such-command-xyz']);
    expect(result.code).toBe(127);
    expect(result.stderr).toContain('command not found');
  });
});
