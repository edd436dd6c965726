// Tests: the app health check against real TCP and HTTP servers that go down and come back.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { seededRng, type Runtime } from '../../src/core/index.js';
import { AppHealthCheck } from '../../src/resilience/app-health-check.js';
import { startGrpcHealthServer } from './grpc-health-server.js';
import { createRuntime } from '../../src/telemetry/index.js';

const wait = { timeout: 10_000, interval: 20 };

function testRuntime(): Runtime {
  return { ...createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) }), rng: seededRng(3) };
}

async function listen(server: net.Server, port = 0): Promise<number> {
  // Re-listening on a port just released by our own server; retry briefly in case the OS still holds it.
  const deadline = Date.now() + 5_000;
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      return (server.address() as AddressInfo).port;
    } catch (err) {
      if (Date.now() > deadline || attempt > 50) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function shut(server: net.Server): Promise<void> {
  if (!server.listening) return;
  if (server instanceof http.Server) server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

describe('AppHealthCheck', () => {
  const servers: net.Server[] = [];
  const checks: AppHealthCheck[] = [];

  afterEach(async () => {
    for (const c of checks.splice(0)) c.stop();
    for (const s of servers.splice(0)) await shut(s);
  });

  it('TCP mode: detects the app going down and coming back', async () => {
    const sockets = new Set<net.Socket>();
    const app = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    servers.push(app);
    const port = await listen(app);
    const changes: [boolean, string][] = [];
    const check = new AppHealthCheck({ runtime: testRuntime(), host: '127.0.0.1', port, intervalMs: 50, onChange: (h, r) => changes.push([h, r]) });
    checks.push(check);
    expect(check.healthy()).toBe(false);
    check.start();
    await vi.waitFor(() => expect(check.healthy()).toBe(true), wait);

    await shut(app);
    await vi.waitFor(() => expect(check.healthy()).toBe(false), wait);
    expect(check.reason()).toMatch(/TCP connect to tcp:\/\/127\.0\.0\.1:\d+ failed/);

    const again = net.createServer((s) => s.destroy());
    servers.push(again);
    await listen(again, port);
    await vi.waitFor(() => expect(check.healthy()).toBe(true), wait);
    expect(changes.map(([h]) => h)).toEqual([true, false, true]);
  });

  it('probes a starting app often, so it is healthy soon after it listens rather than one interval later', async () => {
    const probe = net.createServer();
    const port = await listen(probe);
    await shut(probe);
    const check = new AppHealthCheck({ runtime: testRuntime(), host: '127.0.0.1', port, intervalMs: 60_000 });
    checks.push(check);
    check.start();
    await vi.waitFor(() => expect(check.reason()).toMatch(/failed/), wait);
    const app = net.createServer((s) => s.destroy());
    servers.push(app);
    await listen(app, port);
    // Far less than the 60 s interval: the startup cadence found it.
    await vi.waitFor(() => expect(check.healthy()).toBe(true), { timeout: 5_000, interval: 20 });
  });

  it('HTTP mode: 2xx/3xx are healthy, 5xx and a dead app are not', async () => {
    let status = 200;
    const paths: string[] = [];
    const app = http.createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(status, status === 302 ? { location: '/elsewhere' } : {});
      res.end('ok');
    });
    servers.push(app);
    const port = await listen(app);
    const changes: boolean[] = [];
    const check = new AppHealthCheck({ runtime: testRuntime(), host: '127.0.0.1', port, path: 'healthz', intervalMs: 50 });
    checks.push(check);
    check.onChange((h) => changes.push(h));
    check.start();
    await vi.waitFor(() => expect(check.healthy()).toBe(true), wait);
    expect(paths[0]).toBe('/healthz');

    status = 503;
    await vi.waitFor(() => expect(check.healthy()).toBe(false), wait);
    expect(check.reason()).toContain('answered 503');
    status = 302;
    await vi.waitFor(() => expect(check.healthy()).toBe(true), wait);

    await shut(app);
    await vi.waitFor(() => expect(check.healthy()).toBe(false), wait);
    expect(changes).toEqual([true, false, true, false]);
  });

  it("gRPC mode: the app's health service decides, SERVING healthy, NOT_SERVING and an unknown service not", async () => {
    const app = await startGrpcHealthServer({ '': 1, orders: 1 });
    const check = new AppHealthCheck({ runtime: testRuntime(), host: '127.0.0.1', port: app.port, grpcService: 'orders', intervalMs: 50 });
    checks.push(check);
    check.start();
    await vi.waitFor(() => expect(check.healthy()).toBe(true), wait);
    expect(app.requests[0]).toBe('orders');
    app.statuses.set('orders', 2);
    await vi.waitFor(() => expect(check.healthy()).toBe(false), wait);
    expect(check.reason()).toContain('grpc://127.0.0.1');
    app.statuses.delete('orders');
    await vi.waitFor(() => expect(check.reason()).toContain('grpc-status 5'), wait);
    app.statuses.set('orders', 1);
    await vi.waitFor(() => expect(check.healthy()).toBe(true), wait);
    check.stop();
    await app.close();
  });

  it('HTTP mode: an app that accepts but never answers fails by timeout', async () => {
    const app = http.createServer(() => {
      // Hangs.
    });
    servers.push(app);
    const port = await listen(app);
    const check = new AppHealthCheck({ runtime: testRuntime(), host: '127.0.0.1', port, path: '/', timeoutMs: 100 });
    checks.push(check);
    const result = await check.check();
    expect(result.ok).toBe(false);
    expect(result.reason).toContain('within 100 ms');
  });

  it('applies thresholds after the first result, and never runs two probes at once', async () => {
    let status = 200;
    let concurrent = 0;
    let maxConcurrent = 0;
    const app = http.createServer((_req, res) => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      setTimeout(() => {
        concurrent--;
        res.writeHead(status).end();
      }, 20);
    });
    servers.push(app);
    const port = await listen(app);
    const check = new AppHealthCheck({ runtime: testRuntime(), host: '127.0.0.1', port, path: '/', unhealthyThreshold: 2, healthyThreshold: 3 });
    checks.push(check);
    const [a, b] = await Promise.all([check.check(), check.check()]);
    expect(a).toBe(b);
    expect(maxConcurrent).toBe(1);
    expect(check.healthy()).toBe(true);

    status = 500;
    await check.check();
    expect(check.healthy()).toBe(true);
    await check.check();
    expect(check.healthy()).toBe(false);

    status = 200;
    await check.check();
    await check.check();
    expect(check.healthy()).toBe(false);
    await check.check();
    expect(check.healthy()).toBe(true);
  });

  it('is never healthy when what answers is one of the sidecar\'s own listeners, in TCP or HTTP mode', async () => {
    const own = http.createServer((_req, res) => res.end('the sidecar, not the app'));
    servers.push(own);
    const port = await listen(own);
    for (const path of [undefined, '/health']) {
      const check = new AppHealthCheck({ runtime: testRuntime(), host: '127.0.0.1', port, ...(path ? { path } : {}), ownListeners: [{ host: '0.0.0.0', port }] });
      checks.push(check);
      const result = await check.check();
      expect(result.ok).toBe(false);
      expect(result.reason).toContain(`reached the sidecar's own listener 0.0.0.0:${port}, not the app`);
      expect(check.healthy()).toBe(false);
    }
    // The same server at an address that is none of the sidecar's is an app like any other.
    const unrelated = new AppHealthCheck({ runtime: testRuntime(), host: '127.0.0.1', port, ownListeners: [{ host: '127.0.0.2', port }, { host: '127.0.0.1', port: port === 65535 ? 1 : port + 1 }] });
    checks.push(unrelated);
    expect((await unrelated.check()).ok).toBe(true);
  });
});
