// Tests of test support: free ports, spawning with captured output, readiness polling and stopping.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, freePorts, liveProcesses, spawnProcess, stopAll, stopProcess, waitForHttp } from './index.js';

afterAll(() => stopAll());

/** A small HTTP server in a child, so that polling and stopping exercise a real process. */
const SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => res.end('ok'));
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => { console.log('bye'); server.close(() => process.exit(0)); });
`;

describe('freePort', () => {
  it('returns a port that can be bound', async () => {
    const port = await freePort();
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    await new Promise((resolve) => server.close(resolve));
  });

  it('returns distinct ports', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
  });
});

describe('processes', () => {
  it('captures output, waits for HTTP and stops gracefully', async () => {
    const port = await freePort();
    const proc = spawnProcess(process.execPath, ['-e', SERVER], { name: 'http child', env: { PORT: String(port) } });
    await waitForHttp(`http://127.0.0.1:${port}/`, 15_000, { process: proc });
    expect(proc.output()).toContain('listening');
    const exit = await stopProcess(proc);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(proc.output()).toContain('bye');
    expect(liveProcesses()).not.toContain(proc);
  });

  it('kills with SIGKILL a child that ignores the signal', async () => {
    const proc = spawnProcess(process.execPath, ['-e', "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000);"]);
    const deadline = Date.now() + 15_000;
    while (!proc.output().includes('up') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const exit = await stopProcess(proc, 'SIGTERM', 300);
    expect(exit.signal).toBe('SIGKILL');
  });

  it('stops a whole process group', async () => {
    const script =
      "const c = require('node:child_process').spawn('sleep', ['30'], { stdio: 'ignore' });" +
      " console.log('grandchild ' + c.pid); setInterval(() => {}, 1000);";
    const proc = spawnProcess(process.execPath, ['-e', script], { group: true });
    const deadline = Date.now() + 15_000;
    while (!/grandchild \d+/.test(proc.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const grandchild = Number(/grandchild (\d+)/.exec(proc.output())?.[1]);
    expect(grandchild).toBeGreaterThan(0);
    const exit = await stopProcess(proc, 'SIGTERM', 5_000);
    expect(exit.signal).toBe('SIGTERM');
    const gone = Date.now() + 5_000;
    while (isAlive(grandchild) && Date.now() < gone) await new Promise((r) => setTimeout(r, 20));
    expect(isAlive(grandchild)).toBe(false);
  });

  it('fails fast with the output when the child exits while waiting', async () => {
    const port = await freePort();
    const proc = spawnProcess(process.execPath, ['-e', "console.error('cannot start'); process.exit(3)"], { name: 'failing child' });
    await expect(waitForHttp(`http://127.0.0.1:${port}/`, 15_000, { process: proc })).rejects.toThrow(/failing child exited \(3\)[\s\S]*cannot start/);
  });

  it('gives up after the deadline naming the last failure', async () => {
    const port = await freePort();
    await expect(waitForHttp(`http://127.0.0.1:${port}/`, 300)).rejects.toThrow(/not ready within 300 ms \(last: .*ECONNREFUSED/);
  });
});

/** Whether `pid` still runs; a zombie (exited, not yet reaped by init) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
