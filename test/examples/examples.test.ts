// Tests of the example services: greeter's replies, and frontend calling greeter through a real weft mesh.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, freePorts, spawnProcess, stopAll, stopProcess, waitForHttp, type ManagedProcess } from '../support/index.js';

afterAll(() => stopAll());

async function startExample(file: string, env: Record<string, string>): Promise<{ proc: ManagedProcess; url: string }> {
  const port = await freePort();
  const proc = spawnProcess(process.execPath, [file], { name: file, env: { ...env, PORT: String(port) } });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health`, 15_000, { process: proc });
  return { proc, url };
}

describe('examples', () => {
  it('greeter says hello with its instance and port, and exits 0 on SIGTERM', async () => {
    const { proc, url } = await startExample('examples/greeter/server.js', { INSTANCE: 'g-1' });
    const res = await fetch(`${url}/hello?name=ada`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: 'hello, ada', instance: 'g-1', port: Number(new URL(url).port) });
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect(await stopProcess(proc)).toEqual({ code: 0, signal: null });
  });

  it('frontend reaches both greeter instances through a real weft mesh', async () => {
    const weft = fileURLToPath(new URL('../../bin/weft.js', import.meta.url));
    if (!existsSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)))) {
      throw new Error('dist/ is missing: run `npm run build` first (`npm test` does)');
    }
    const [controlPort, frontendPort, outboundPort] = await freePorts(3);
    const control = `http://127.0.0.1:${controlPort}`;
    const env = { WEFT_LOG_LEVEL: 'warn' };
    const weftRun = (name: string, args: readonly string[], extraEnv: Record<string, string> = {}) =>
      spawnProcess(process.execPath, [weft, 'run', '--control', control, '--admin', '127.0.0.1:0', ...args], { name, group: true, env: { ...env, ...extraEnv } });

    const plane = spawnProcess(process.execPath, [weft, 'control', '--dev', '--listen', `127.0.0.1:${controlPort}`], { name: 'weft control', env });
    await waitForHttp(`${control}/healthz`, 20_000, { process: plane });
    for (const id of ['g-a', 'g-b']) {
      weftRun(id, ['--service', 'greeter', '--outbound', '127.0.0.1:0', '--', process.execPath, 'examples/greeter/server.js'], { INSTANCE: id });
    }
    const frontend = weftRun('frontend', [
      '--service', 'frontend', '--app-port', String(frontendPort), '--outbound', `127.0.0.1:${outboundPort}`,
      '--', process.execPath, 'examples/frontend/server.js',
    ]);

    // Poll until the frontend's sidecar knows both greeters, then check the replies alternate between them.
    const seen = new Set<string>();
    const deadline = Date.now() + 30_000;
    for (let i = 0; i < 500 && seen.size < 2 && Date.now() < deadline; i++) {
      const reply = await fetch(`http://127.0.0.1:${frontendPort}/?name=ada`).catch(() => undefined);
      if (reply?.status === 200) {
        const body = (await reply.json()) as { greeter: { message: string; instance: string } };
        expect(body.greeter.message).toBe('hello, ada');
        seen.add(body.greeter.instance);
      } else {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (frontend.exit() !== undefined) throw new Error(`frontend exited:\n${frontend.output()}`);
    }
    expect([...seen].sort()).toEqual(['g-a', 'g-b']);
    await stopAll();
  });

  it('frontend answers 502 with the error when greeter is unreachable', async () => {
    const nothing = await freePort();
    const frontend = await startExample('examples/frontend/server.js', { WEFT_OUTBOUND: `http://127.0.0.1:${nothing}` });
    const res = await fetch(`${frontend.url}/`);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'greeter unreachable', code: 'ECONNREFUSED' });
  });
});
