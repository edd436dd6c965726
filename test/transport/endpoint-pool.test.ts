import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it, expect } from 'vitest';
import { endpointFromInstance, type Endpoint } from '../../src/model/index.js';
import { EndpointPools } from '../../src/transport/index.js';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())));
});

async function server(): Promise<{ endpoint: Endpoint; connections: () => number }> {
  let connections = 0;
  const s = http.createServer((_req, res) => res.end('ok'));
  s.on('connection', () => connections++);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  const endpoint = endpointFromInstance({ id: `e-${port}`, service: 's', host: '127.0.0.1', port, weight: 1, meta: {}, tags: [], ttlMs: 10_000, health: 'passing' });
  return { endpoint, connections: () => connections };
}

function get(pools: EndpointPools, endpoint: Endpoint): Promise<void> {
  const pool = pools.get(endpoint);
  return new Promise((resolve, reject) => {
    http
      .get({ agent: pool.agent, host: pool.host, port: pool.port, path: '/' }, (res) => {
        res.resume();
        res.on('end', () => setImmediate(resolve));
      })
      .on('error', reject);
  });
}

/** Sockets leave the agent's lists on their 'close' event, a tick after destroy(). */
async function settled(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('endpoint pools', () => {
  it('reuses one keep-alive connection for sequential requests', async () => {
    const a = await server();
    const pools = new EndpointPools();
    for (let i = 0; i < 10; i++) await get(pools, a.endpoint);
    expect(a.connections()).toBe(1);
    expect(pools.get(a.endpoint).sockets()).toEqual([0, 1]);
    pools.destroy();
  });

  it('retires the pools of endpoints that left, closing their idle sockets', async () => {
    const a = await server();
    const b = await server();
    const pools = new EndpointPools();
    await get(pools, a.endpoint);
    await get(pools, b.endpoint);
    const poolA = pools.get(a.endpoint);
    expect(poolA.sockets()).toEqual([0, 1]);
    pools.retain([b.endpoint]);
    expect(pools.addresses()).toEqual([b.endpoint.address]);
    await settled(() => poolA.sockets()[1] === 0);
    expect(poolA.sockets()).toEqual([0, 0]);
    // A retired pool no longer keeps sockets: a late request closes its connection when done.
    await new Promise<void>((resolve, reject) => {
      http.get({ agent: poolA.agent, host: poolA.host, port: poolA.port }, (res) => (res.resume(), res.on('end', () => setImmediate(resolve)))).on('error', reject);
    });
    await settled(() => poolA.sockets()[0] + poolA.sockets()[1] === 0);
    expect(poolA.sockets()).toEqual([0, 0]);
    expect(a.connections()).toBe(2);
    pools.destroy();
  });
});
