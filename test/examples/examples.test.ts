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

describe('examples: chat (WebSocket)', () => {
  it('two members talk through their sidecar to a chat instance behind its own, over mTLS', async () => {
    const { default: WebSocket } = await import('ws');
    const weft = fileURLToPath(new URL('../../bin/weft.js', import.meta.url));
    const [controlPort, outboundPort] = await freePorts(2);
    const control = `http://127.0.0.1:${controlPort}`;
    const env = { WEFT_LOG_LEVEL: 'warn' };
    const plane = spawnProcess(process.execPath, [weft, 'control', '--dev', '--listen', `127.0.0.1:${controlPort}`], { name: 'weft control', env });
    await waitForHttp(`${control}/healthz`, 20_000, { process: plane });
    // Strict mTLS between the two sidecars, so the session is proven to cross the mesh encrypted.
    const policy = await fetch(`${control}/api/v1/policies/chat`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ service: 'chat', mtls: 'strict' }) });
    expect(policy.status).toBeLessThan(300);
    spawnProcess(process.execPath, [weft, 'run', '--control', control, '--admin', '127.0.0.1:0', '--service', 'chat', '--outbound', '127.0.0.1:0', '--', process.execPath, 'examples/chat/server.js'], { name: 'chat', group: true, env: { ...env, INSTANCE: 'c-1' } });
    const client = spawnProcess(process.execPath, [weft, 'proxy', '--control', control, '--admin', '127.0.0.1:0', '--service', 'members', '--outbound', `127.0.0.1:${outboundPort}`], { name: 'members sidecar', env });

    const join = (name: string): Promise<{ lines: string[]; socket: InstanceType<typeof WebSocket> }> =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(`ws://127.0.0.1:${outboundPort}/room?name=${name}`, { headers: { host: 'chat' } });
        const lines: string[] = [];
        socket.on('message', (data) => lines.push(data.toString()));
        socket.once('open', () => resolve({ lines, socket }));
        socket.once('error', reject);
        socket.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
      });
    // The members' sidecar learns of chat once it has registered: retried until then.
    let ada: Awaited<ReturnType<typeof join>> | undefined;
    const deadline = Date.now() + 30_000;
    while (ada === undefined && Date.now() < deadline) {
      ada = await join('ada').catch(() => undefined);
      if (ada === undefined) await new Promise((resolve) => setTimeout(resolve, 200));
      if (client.exit() !== undefined) throw new Error(`the members' sidecar exited:\n${client.output()}`);
    }
    expect(ada, 'ada could not join through the sidecars within 30 s').toBeDefined();
    const bob = await join('bob');
    ada!.socket.send('hi bob');
    for (let i = 0; i < 200 && bob.lines.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(JSON.parse(bob.lines[0]!)).toMatchObject({ from: 'chat', instance: 'c-1', text: 'welcome, bob' });
    expect(JSON.parse(bob.lines[1]!)).toEqual({ from: 'ada', instance: 'c-1', text: 'hi bob' });
    ada!.socket.close();
    bob.socket.close();
    await stopAll();
  });
});
