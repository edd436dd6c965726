// Tests of the example services: greeter's replies, and frontend's call through an outbound address.
import { createServer, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnProcess, stopAll, stopProcess, waitForHttp, type ManagedProcess } from '../support/index.js';

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

  it('frontend relays greeter through the outbound address with Host: greeter', async () => {
    // Stands in for the sidecar's outbound listener: checks the Host header and forwards to greeter.
    const greeter = await startExample('examples/greeter/server.js', { INSTANCE: 'g-2' });
    const hosts: string[] = [];
    const outbound: Server = createServer((req, res) => {
      hosts.push(req.headers.host ?? '');
      void fetch(`${greeter.url}${req.url ?? '/'}`).then(async (r) => res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()));
    });
    await new Promise<void>((resolve) => outbound.listen(0, '127.0.0.1', resolve));
    const address = outbound.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    try {
      const frontend = await startExample('examples/frontend/server.js', { WEFT_OUTBOUND: `http://127.0.0.1:${address.port}`, INSTANCE: 'f-1' });
      const res = await fetch(`${frontend.url}/?name=bob`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { frontend: string; greeter: { message: string; instance: string } };
      expect(body.frontend).toBe('f-1');
      expect(body.greeter).toMatchObject({ message: 'hello, bob', instance: 'g-2' });
      expect(hosts).toEqual(['greeter']);
    } finally {
      await new Promise((resolve) => outbound.close(resolve));
    }
  });

  it('frontend answers 502 with the error when greeter is unreachable', async () => {
    const nothing = await freePort();
    const frontend = await startExample('examples/frontend/server.js', { WEFT_OUTBOUND: `http://127.0.0.1:${nothing}` });
    const res = await fetch(`${frontend.url}/`);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'greeter unreachable', code: 'ECONNREFUSED' });
  });
});
