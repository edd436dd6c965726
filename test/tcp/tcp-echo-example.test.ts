// Tests for examples/tcp-echo: two echo servers behind strict-mTLS inbound ports, an outbound port for them, and the example client run against it.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTcpInbound, createTcpUpstreamListener, type TcpServer } from '../../src/tcp/index.js';
import { freePorts, spawnProcess, stopAll, stopProcess, type ManagedProcess } from '../support/index.js';
import { dial, eventually, meshTls, quietRuntime, tcpInstance, TestCa, TestSnapshots } from './tcp-fixtures.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/tcp-echo/', import.meta.url));

let ca: TestCa;
const servers: TcpServer[] = [];
let upstreamPort = 0;

beforeAll(async () => {
  ca = await TestCa.open();
  const [frontend, echo] = await Promise.all([ca.identity('frontend'), ca.identity('echo')]);
  const appPorts = await freePorts(2);
  const inboundPorts: number[] = [];
  for (const [i, port] of appPorts.entries()) {
    spawnProcess(process.execPath, [`${EXAMPLE}server.js`], { name: `echo-${i}`, env: { PORT: String(port), INSTANCE: `echo-${i}` } });
    // Ready once it accepts a connection (and greets it).
    await eventually(async () => {
      try {
        const probe = await dial(port);
        probe.socket.destroy();
        return true;
      } catch {
        return false;
      }
    }, 10_000);
    const inbound = createTcpInbound({ runtime: quietRuntime(), snapshots: new TestSnapshots(), service: 'echo', app: { host: '127.0.0.1', port }, mtls: meshTls('strict', echo) });
    servers.push(inbound);
    inboundPorts.push((await inbound.listen('127.0.0.1', 0)).port);
  }
  const snapshots = new TestSnapshots(inboundPorts.map((port, i) => tcpInstance(`echo-${i}`, port, { service: 'echo' })));
  const upstream = createTcpUpstreamListener({ runtime: quietRuntime(), snapshots, service: 'echo', mtls: meshTls('strict', frontend) });
  servers.push(upstream);
  upstreamPort = (await upstream.listen('127.0.0.1', 0)).port;
}, 20_000);

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close(0)));
  await stopAll();
  await ca.remove();
});

/** Runs the example client to its end (at most 10 s) and returns its exit code and output. */
async function runClient(...args: string[]): Promise<{ code: number | null; output: string }> {
  const client: ManagedProcess = spawnProcess(process.execPath, [`${EXAMPLE}client.js`, ...args], { name: 'echo-client' });
  const exit = await Promise.race([client.exited, new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 10_000))]);
  if (exit === 'late') await stopProcess(client, 'SIGKILL', 1_000);
  return { code: exit === 'late' ? null : exit.code, output: client.output() };
}

describe('examples/tcp-echo through the mesh', () => {
  it('greets, echoes in capitals, says goodbye after the client shut its side, and alternates between the instances', async () => {
    const first = await runClient(`127.0.0.1:${upstreamPort}`, 'hello', 'mesh');
    const second = await runClient(`127.0.0.1:${upstreamPort}`, 'again');
    expect(first.code).toBe(0);
    expect(first.output).toMatch(/^hello from echo (echo-[01])\nHELLO\nMESH\nbye after 2 line\(s\) from echo \1\n$/);
    expect(second.code).toBe(0);
    expect(second.output).toMatch(/^hello from echo (echo-[01])\nAGAIN\nbye after 1 line\(s\) from echo \1\n$/);
    expect(new Set([first, second].map((run) => /echo-[01]/.exec(run.output)?.[0])).size).toBe(2);
  }, 30_000);
});
