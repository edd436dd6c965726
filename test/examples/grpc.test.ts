// Tests of the grpc example through the real `weft` CLI: two greeter instances under `weft run --protocol grpc --health-grpc`, called by a client under its own `weft run`, over strict mTLS.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts, spawnProcess, stopAll, waitForHttp } from '../support/index.js';

afterAll(() => stopAll());

const weft = fileURLToPath(new URL('../../bin/weft.js', import.meta.url));

describe('examples: grpc', () => {
  it('a client reaches both greeter instances through two sidecars: unary, a server stream, and a status passed through', async () => {
    if (!existsSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)))) throw new Error('dist/ is missing: run `npm run build` first (`npm test` does)');
    const [controlPort] = await freePorts(1);
    const control = `http://127.0.0.1:${controlPort}`;
    const env = { WEFT_LOG_LEVEL: 'warn' };
    const plane = spawnProcess(process.execPath, [weft, 'control', '--dev', '--listen', `127.0.0.1:${controlPort}`], { name: 'weft control', env });
    await waitForHttp(`${control}/healthz`, 20_000, { process: plane });
    // --dev leaves mTLS disabled by default: hello's policy makes it strict.
    const policy = await fetch(`${control}/api/v1/policies/hello`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ service: 'hello', mtls: 'strict' }) });
    expect(policy.status).toBeLessThan(300);
    // Each instance registers only once its health service answers SERVING.
    for (const id of ['h-1', 'h-2']) {
      spawnProcess(process.execPath, [weft, 'run', '--control', control, '--service', 'hello', '--protocol', 'grpc', '--health-grpc', '--outbound', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--', process.execPath, 'examples/grpc/server.js'], {
        name: id,
        group: true,
        env: { ...env, INSTANCE: id },
      });
    }
    const deadline = Date.now() + 30_000;
    for (let i = 0; i < 300 && Date.now() < deadline; i++) {
      const reply = (await (await fetch(`${control}/api/v1/services/hello/instances`)).json().catch(() => null)) as { instances?: { health: string }[] } | null;
      if ((reply?.instances ?? []).filter((instance) => instance.health === 'passing').length === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const client = spawnProcess(process.execPath, [weft, 'run', '--control', control, '--service', 'client', '--outbound', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--', process.execPath, 'examples/grpc/client.js'], {
      name: 'client',
      group: true,
      env: { ...env, CALLS: '6' },
    });
    const exit = await Promise.race([client.exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 40_000))]);
    expect(exit, client.output()).toEqual({ code: 0, signal: null });
    const replies = client
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { message?: string; instance?: string; code?: number; details?: string });
    const unary = replies.filter((reply) => reply.message === 'hello, ada');
    expect(unary).toHaveLength(6);
    expect(new Set(unary.map((reply) => reply.instance))).toEqual(new Set(['h-1', 'h-2']));
    expect(replies.filter((reply) => reply.message?.startsWith('hello #')).map((reply) => reply.message)).toEqual(['hello #1, bob', 'hello #2, bob', 'hello #3, bob']);
    expect(replies.at(-1)).toEqual({ code: 3, details: 'a name is needed' });
    await stopAll();
  }, 90_000);
});
