// Control stats: the scraper reaches only an instance's own host; a weft.admin it refuses is skipped, said once, and never thrown.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { StatsCollector } from '../../../src/control/stats/index.js';
import { ADMIN_META_KEY } from '../../../src/model/index.js';
import { startMemoryRegistry, stopFixtures } from '../consul/consul-fixture.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await stopFixtures();
});

/** A /metrics endpoint on `host` that counts its requests. */
async function metricsServer(host: string): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    res.writeHead(req.url === '/metrics' ? 200 : 404, { 'content-type': 'text/plain' }).end('# no counters yet\n');
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as AddressInfo).port, hits: () => hits };
}

describe('StatsCollector targets', () => {
  it('scrapes only the instance\'s own host, and skips a refused weft.admin with its reason, logged and counted once', async () => {
    const { runtime, registry, logs } = await startMemoryRegistry();
    const collector = new StatsCollector(registry, runtime, { intervalMs: 200 });
    closers.push(async () => collector.close());
    const own = await metricsServer('127.0.0.1');
    const elsewhere = await metricsServer('127.0.0.2');
    const register = (id: string, admin: string, host = '127.0.0.1') => registry.register({ id, service: 'web', host, port: 80, ttlMs: 60_000, meta: { [ADMIN_META_KEY]: admin } });
    await register('own', `127.0.0.1:${own.port}`);
    await register('wildcard', `0.0.0.0:${own.port}`);
    // A loopback weft.admin names a port of the instance's own host (127.0.0.3 here), never the loopback host written.
    await register('loopback', `127.0.0.2:${elsewhere.port}`, '127.0.0.3');
    await register('other-host', '10.0.0.8:15000');
    await register('bad-port', '127.0.0.1:99999');
    await register('not-an-address', 'http://127.0.0.1:15000/metrics');

    for (let i = 0; i < 3; i++) await collector.stats({ windowSeconds: 10, byInstance: true });
    const reply = await collector.stats({ windowSeconds: 10, byInstance: true });

    expect(elsewhere.hits()).toBe(0);
    expect(own.hits()).toBeGreaterThanOrEqual(4);
    expect(reply.rows.map((r) => r.instance).sort()).toEqual(['own', 'wildcard']);
    const skipped = Object.fromEntries(reply.skipped.map((s) => [s.instance, s.reason]));
    expect(Object.keys(skipped).sort()).toEqual(['bad-port', 'loopback', 'not-an-address', 'other-host']);
    expect(skipped.loopback).toBe(`unreachable: connect ECONNREFUSED 127.0.0.3:${elsewhere.port}`);
    expect(skipped['other-host']).toBe("not scraped: weft.admin 10.0.0.8:15000: expected the service's own address 127.0.0.1 (any port), not 10.0.0.8");
    expect(skipped['bad-port']).toMatch(/^not scraped: weft\.admin: .*port 1-65535/);
    expect(skipped['not-an-address']).toMatch(/^not scraped: weft\.admin: .*not host:port/);

    const said = logs.filter((l) => l.msg === 'not scraping a sidecar: its weft.admin is refused');
    expect(said.map((l) => l.instance).sort()).toEqual(['bad-port', 'not-an-address', 'other-host']);
    expect(await runtime.metrics.getSingleMetricAsString('weft_control_stats_targets_refused_total')).toMatch(/^weft_control_stats_targets_refused_total 3$/m);
  });
});
