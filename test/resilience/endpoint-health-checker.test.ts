import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it, expect } from 'vitest';
import { seededRng, systemClock, type Rng } from '../../src/core/index.js';
import { EndpointHealthChecker, type EndpointHealth, type EndpointHealthCheckOptions } from '../../src/resilience/index.js';
import { closedPort, startGrpcHealthServer } from './grpc-health-server.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Draws 0.99 every time: the first scheduled probe lands near the end of the interval, so long intervals never fire in a test. */
const late: Rng = { next: () => 0.99 };

async function httpServer(): Promise<{ port: number; status: { code: number }; close(): Promise<void> }> {
  const status = { code: 200 };
  const server = http.createServer((req, res) => {
    res.statusCode = req.url === '/healthz' ? status.code : 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    status,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function tcpServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function checker(options: Partial<EndpointHealthCheckOptions>, rng: Rng = late) {
  const changes: string[] = [];
  const instance = new EndpointHealthChecker(
    { intervalMs: 60_000, timeoutMs: 2_000, unhealthyThreshold: 2, healthyThreshold: 2, ...options },
    { clock: systemClock, rng, onChange: (id: string, status: EndpointHealth) => changes.push(`${id}:${status}`) },
  );
  cleanups.push(() => instance.stop());
  return { instance, changes };
}

describe('endpoint health checker', () => {
  it('applies the thresholds to HTTP probes and filters unhealthy endpoints', async () => {
    const server = await httpServer();
    cleanups.push(() => server.close());
    const { instance, changes } = checker({ http: { path: 'healthz' } });
    const endpoints = [{ id: 'a', host: '127.0.0.1', port: server.port }, { id: 'b', host: '127.0.0.1', port: server.port }];
    instance.sync(endpoints);
    expect(instance.status('a')).toBe('unknown');
    expect(instance.eligible(endpoints)).toBe(endpoints);

    expect((await instance.checkNow('a'))?.ok).toBe(true);
    expect(instance.status('a')).toBe('healthy');
    server.status.code = 503;
    await instance.checkNow('a');
    expect(instance.status('a')).toBe('healthy'); // one failure of two
    const failed = await instance.checkNow('a');
    expect(failed).toEqual({ ok: false, reason: `GET http://127.0.0.1:${server.port}/healthz answered 503` });
    expect(instance.status('a')).toBe('unhealthy');
    expect(instance.reason('a')).toBe(failed?.reason);
    expect(instance.eligible(endpoints).map((e) => e.id)).toEqual(['b']);
    expect(instance.eligible(endpoints)).toBe(instance.eligible(endpoints));
    expect(instance.counts()).toEqual({ unknown: 1, healthy: 0, unhealthy: 1 });

    server.status.code = 200;
    await instance.checkNow('a');
    expect(instance.status('a')).toBe('unhealthy'); // one success of two
    server.status.code = 500;
    await instance.checkNow('a'); // a failure resets the success streak
    server.status.code = 204;
    await instance.checkNow('a');
    expect(instance.status('a')).toBe('unhealthy');
    await instance.checkNow('a');
    expect(instance.status('a')).toBe('healthy');
    expect(instance.eligible(endpoints)).toBe(endpoints);
    expect(changes).toEqual(['a:healthy', 'a:unhealthy', 'a:healthy']);
    expect(await instance.checkNow('zzz')).toBeUndefined();
  });

  it('probes TCP endpoints on its own schedule, and starts and stops checks as endpoints come and go', async () => {
    const live = await tcpServer();
    let liveOpen = true;
    cleanups.push(() => (liveOpen ? live.close() : undefined));
    const deadPort = await closedPort();
    const { instance, changes } = checker({ tcp: {}, intervalMs: 40, unhealthyThreshold: 1, healthyThreshold: 1 }, seededRng(3));
    instance.sync([
      { id: 'live', host: '127.0.0.1', port: live.port },
      { id: 'dead', host: '127.0.0.1', port: deadPort },
    ]);
    await until('first verdicts', () => instance.status('live') === 'healthy' && instance.status('dead') === 'unhealthy');
    expect(instance.reason('dead')).toMatch(/^TCP connect to tcp:\/\/127\.0\.0\.1:\d+ failed/);

    await live.close();
    liveOpen = false;
    await until('the stopped endpoint to turn unhealthy', () => instance.status('live') === 'unhealthy');

    // The dead endpoint moves to a live address under the same id: its check starts over.
    const again = await tcpServer();
    cleanups.push(() => again.close());
    instance.sync([{ id: 'dead', host: '127.0.0.1', port: again.port }]);
    expect(instance.status('live')).toBeUndefined();
    expect(instance.status('dead')).toBe('unknown');
    await until('the moved endpoint to turn healthy', () => instance.status('dead') === 'healthy');
    expect(changes).toContain('live:unhealthy');
    expect(changes.at(-1)).toBe('dead:healthy');
    instance.stop();
    expect(instance.counts()).toEqual({ unknown: 0, healthy: 0, unhealthy: 0 });
  });

  it('checks gRPC endpoints with the health protocol', async () => {
    const server = await startGrpcHealthServer({ greeter: 1 });
    cleanups.push(() => server.close());
    const { instance } = checker({ grpc: { service: 'greeter' }, unhealthyThreshold: 1, healthyThreshold: 1 });
    instance.sync([{ id: 'g', host: '127.0.0.1', port: server.port }]);
    await instance.checkNow('g');
    expect(instance.status('g')).toBe('healthy');
    server.statuses.set('greeter', 2);
    await instance.checkNow('g');
    expect(instance.status('g')).toBe('unhealthy');
    expect(instance.reason('g')).toMatch(/NOT_SERVING/);
    expect(server.requests).toEqual(['greeter', 'greeter']);
  });

  it('rejects a check with no kind or several, and bad numbers', () => {
    const deps = { clock: systemClock, rng: late };
    const base = { intervalMs: 1_000, timeoutMs: 500, unhealthyThreshold: 1, healthyThreshold: 1 };
    expect(() => new EndpointHealthChecker(base, deps)).toThrow(/exactly one/);
    expect(() => new EndpointHealthChecker({ ...base, tcp: {}, http: { path: '/' } }, deps)).toThrow(/exactly one/);
    expect(() => new EndpointHealthChecker({ ...base, tcp: {}, intervalMs: 0 }, deps)).toThrow(RangeError);
    expect(() => new EndpointHealthChecker({ ...base, tcp: {}, healthyThreshold: 0 }, deps)).toThrow(RangeError);
  });
});
