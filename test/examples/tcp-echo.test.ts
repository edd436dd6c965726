// Tests of the tcp-echo example through the real `weft` CLI: a tcp service under `weft run --protocol tcp`, reached from a client-only sidecar's `--upstream` port over strict mTLS.
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts, spawnProcess, stopAll, waitForHttp, type ManagedProcess } from '../support/index.js';

afterAll(() => stopAll());

const weft = fileURLToPath(new URL('../../bin/weft.js', import.meta.url));

function requireBuild(): void {
  if (!existsSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)))) {
    throw new Error('dist/ is missing: run `npm run build` first (`npm test` does)');
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function alive(...processes: ManagedProcess[]): void {
  for (const proc of processes) {
    if (proc.exit() !== undefined) throw new Error(`${proc.name} exited:\n${proc.output().slice(-4000)}`);
  }
}

/** What a plaintext client that says a line first reads before the port closes its connection (bounded by `timeoutMs`). */
function plaintextAttempt(port: number, timeoutMs: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => undefined);
    socket.once('connect', () => socket.write('hello\n'));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
  });
}

/** The value of one series in a Prometheus text page, 0 when absent. */
function seriesValue(page: string, name: string, labels: Readonly<Record<string, string>>): number {
  for (const line of page.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('examples: tcp-echo (raw TCP)', () => {
  it('a client greets, echoes and is bid goodbye through its sidecar\'s --upstream port and the echo sidecar, over strict mTLS', async () => {
    requireBuild();
    const [controlPort, upstreamPort, echoInbound, echoAdmin] = await freePorts(4);
    const control = `http://127.0.0.1:${controlPort}`;
    const env = { WEFT_LOG_LEVEL: 'warn' };
    const plane = spawnProcess(process.execPath, [weft, 'control', '--dev', '--listen', `127.0.0.1:${controlPort}`], { name: 'weft control', env });
    await waitForHttp(`${control}/healthz`, 20_000, { process: plane });
    // --dev leaves mTLS disabled by default: echo's policy makes it strict, so the bytes can only cross encrypted.
    const policy = await fetch(`${control}/api/v1/policies/echo`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ service: 'echo', mtls: 'strict' }) });
    expect(policy.status).toBeLessThan(300);

    // `weft run` gives the app its port in PORT, which examples/tcp-echo/server.js listens on.
    const echo = spawnProcess(
      process.execPath,
      [weft, 'run', '--control', control, '--service', 'echo', '--protocol', 'tcp', '--inbound', `127.0.0.1:${echoInbound}`, '--outbound', '127.0.0.1:0', '--admin', `127.0.0.1:${echoAdmin}`, '--', process.execPath, 'examples/tcp-echo/server.js'],
      { name: 'echo', group: true, env: { ...env, INSTANCE: 'echo-1' } },
    );
    const client = spawnProcess(process.execPath, [weft, 'proxy', '--control', control, '--service', 'client', '--outbound', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--upstream', `echo:${upstreamPort}`], { name: 'client sidecar', env });

    // Until echo has registered and the client's sidecar holds a certificate, a connection finds no instance or is
    // refused by echo's strict port: the example's client is run again until it is greeted.
    let answer = '';
    const deadline = Date.now() + 30_000;
    for (let attempt = 0; attempt < 100 && Date.now() < deadline; attempt++) {
      const run = spawnProcess(process.execPath, ['examples/tcp-echo/client.js', `127.0.0.1:${upstreamPort}`, 'hello', 'mesh'], { name: 'tcp-echo client' });
      const exit = await run.exited;
      if (exit.code === 0) {
        answer = run.output();
        break;
      }
      alive(plane, echo, client);
      await sleep(250);
    }
    expect(answer, 'the client was not greeted through the sidecars within 30 s').not.toBe('');
    expect(answer).toBe('hello from echo echo-1\nHELLO\nMESH\nbye after 2 line(s) from echo echo-1\n');

    // The echo sidecar's port is strict: a plaintext caller reaches nothing of the app, and is counted.
    const plaintext = await plaintextAttempt(echoInbound!, 5_000);
    expect(plaintext).toEqual({ text: '', closed: true });
    const metrics = await (await fetch(`http://127.0.0.1:${echoAdmin}/metrics`)).text();
    expect(seriesValue(metrics, 'weft_proxy_tcp_connections_refused_total', { direction: 'inbound', service: 'echo', reason: 'plaintext' })).toBeGreaterThanOrEqual(1);
    expect(seriesValue(metrics, 'weft_proxy_tcp_connections_opened_total', { direction: 'inbound', side: 'upstream', peer: 'echo' })).toBeGreaterThanOrEqual(1);
    await stopAll();
  }, 60_000);

  it("refuses an --upstream port that is one of the sidecar's own, as a usage error (exit 2)", async () => {
    requireBuild();
    const [outboundPort] = await freePorts(1);
    const proxy = spawnProcess(process.execPath, [weft, 'proxy', '--service', 'client', '--outbound', `127.0.0.1:${outboundPort}`, '--upstream', `echo:${outboundPort}`], { name: 'weft proxy' });
    expect(await proxy.exited).toEqual({ code: 2, signal: null });
    expect(proxy.output()).toContain(
      `--upstream echo:${outboundPort}: expected a local port for echo that neither the sidecar nor its app listens on: ${outboundPort} is the sidecar's outbound listener 127.0.0.1:${outboundPort} (from --outbound)`,
    );
  }, 20_000);
});
