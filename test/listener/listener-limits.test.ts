// Tests for every weft listener's limits: a slowloris head is cut at the head timeout, the connection cap holds, good traffic goes on.
import http from 'node:http';
import net from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startControlPlane } from '../../src/control/index.js';
import type { Runtime } from '../../src/core/index.js';
import type { ListenerLimits } from '../../src/listener/index.js';
import { createAdminServer } from '../../src/proxy/admin-server.js';
import { createInboundServer } from '../../src/proxy/inbound-server.js';
import { createOutboundServer } from '../../src/proxy/outbound-server.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { instance, quietRuntime, snapshotsOf, startServer } from '../proxy/request-path-fixtures.js';
import { rejected } from './rejection-count.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const LIMITS: ListenerLimits = { headersTimeoutMs: 400, requestTimeoutMs: 5_000, idleTimeoutMs: 5_000, maxConnections: 4 };

interface Listener {
  readonly name: string;
  readonly port: number;
  readonly runtime: Runtime;
  /** A request this listener answers with 2xx. */
  readonly good: { path: string; host: string };
}

async function listeners(): Promise<Listener[]> {
  const app = await startServer((_req, res) => res.end('ok'));
  cleanups.push(() => app.close());
  const snapshots = snapshotsOf([instance('greeter-1', app.port)]);
  const out: Listener[] = [];

  const outRuntime = quietRuntime();
  const outbound = createOutboundServer({ runtime: outRuntime, snapshots, limits: LIMITS });
  out.push({ name: 'outbound', port: (await outbound.listen('127.0.0.1', 0)).port, runtime: outRuntime, good: { path: '/', host: 'greeter' } });
  cleanups.push(() => outbound.close(0));

  // Through the mTLS listener's front socket, as the sidecar always serves its inbound port.
  const inRuntime = quietRuntime();
  const inbound = createInboundServer({ runtime: inRuntime, appPort: app.port, service: 'greeter', mtls: { mode: 'disabled' }, limits: LIMITS });
  out.push({ name: 'inbound', port: (await inbound.listen('127.0.0.1', 0)).port, runtime: inRuntime, good: { path: '/', host: 'greeter' } });
  cleanups.push(() => inbound.close(0));

  const adminRuntime = quietRuntime();
  const admin = createAdminServer({ runtime: adminRuntime, snapshots, ready: () => ({ ready: true }), limits: LIMITS });
  out.push({ name: 'admin', port: (await admin.listen('127.0.0.1', 0)).port, runtime: adminRuntime, good: { path: '/healthz', host: 'admin' } });
  cleanups.push(() => admin.close());

  const controlRuntime = createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) });
  const control = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dev: true, runtime: controlRuntime, limits: LIMITS });
  out.push({ name: 'control', port: control.port, runtime: controlRuntime, good: { path: '/healthz', host: 'control' } });
  cleanups.push(() => control.close());
  return out;
}

function get(port: number, good: { path: string; host: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: good.path, headers: { host: good.host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a connection and sends a head one header line at a time, never finishing it; resolves with what came back and when the socket closed. */
function slowloris(port: number, boundMs: number): Promise<{ reply: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: greeter\r\n'));
    let reply = '';
    let n = 0;
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write(`X-Drip-${n++}: 1\r\n`);
    }, 100);
    const bound = setTimeout(() => socket.destroy(), boundMs);
    socket.on('data', (chunk) => (reply += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(drip);
      clearTimeout(bound);
      resolve({ reply, closedAfterMs: Date.now() - started });
    });
  });
}

/** Opens a connection that sends nothing; resolves once it is open, with a promise of its close. */
function idleConnection(port: number): Promise<{ socket: net.Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve({ socket, closed }));
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

describe('listener limits on every listener', () => {
  it('cuts a slowloris head at the head timeout with 408, while good requests are served meanwhile', async () => {
    for (const listener of await listeners()) {
      const attack = slowloris(listener.port, 5_000);
      for (let i = 0; i < 3; i++) expect(await get(listener.port, listener.good), listener.name).toBe(200);
      const { reply, closedAfterMs } = await attack;
      expect(reply, listener.name).toMatch(/^HTTP\/1\.1 408/);
      expect(reply, listener.name).toMatch(/x-weft-error: REQUEST_TIMEOUT/i);
      // Cut near the head timeout (checked every tenth of it), far before the 5 s the client would have gone on.
      expect(closedAfterMs, listener.name).toBeLessThan(2_500);
      expect(await rejected(listener.runtime, listener.name, 'request_timeout'), listener.name).toBe(1);
    }
  });

  it('refuses connections past the cap and counts them, and serves again once one closes', async () => {
    for (const listener of await listeners()) {
      const held = [];
      for (let i = 0; i < LIMITS.maxConnections; i++) held.push(await idleConnection(listener.port));
      const extra = await idleConnection(listener.port);
      await extra.closed;
      expect(await rejected(listener.runtime, listener.name, 'connection_limit'), listener.name).toBeGreaterThanOrEqual(1);
      held.pop()!.socket.destroy();
      // The server sees the close asynchronously: a good request gets through within a few tries.
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        status = await get(listener.port, listener.good).catch(() => 0);
        if (status !== 200) await new Promise((r) => setTimeout(r, 20));
      }
      expect(status, listener.name).toBe(200);
      for (const c of held) c.socket.destroy();
    }
  });
});
