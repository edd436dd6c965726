import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it, expect } from 'vitest';
import { endpointFromInstance, type Endpoint } from '../../src/model/index.js';
import { systemClock } from '../../src/core/index.js';
import { EndpointPool, EndpointPools, type UpstreamPool } from '../../src/transport/index.js';
import { meshRequest, RecordingHandler } from '../support/request-path-kit.js';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())));
});

async function server(): Promise<{ endpoint: Endpoint; connections: () => number; open: () => number }> {
  let connections = 0;
  let open = 0;
  const s = http.createServer((_req, res) => res.end('ok'));
  s.on('connection', (socket) => {
    connections++;
    open++;
    socket.on('close', () => open--);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  const endpoint = endpointFromInstance({ id: `e-${port}`, service: 's', host: '127.0.0.1', port, weight: 1, protocol: 'http1', meta: {}, tags: [], ttlMs: 10_000, health: 'passing' });
  return { endpoint, connections: () => connections, open: () => open };
}

/** One GET through a pool, as the endpoint stage sends it: the status, or the error code it failed with. */
async function get(pool: EndpointPool): Promise<number> {
  const handler = new RecordingHandler();
  pool.dispatch(meshRequest({ clock: systemClock, headers: { host: 's' } }), handler);
  await handler.done;
  if (handler.lastError !== null) throw handler.lastError;
  return handler.status!;
}

async function settled(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

/** The endpoints here speak HTTP/1.1: their pools are keep-alive connection pools. */
function http1Pool(pool: UpstreamPool): EndpointPool {
  if (!(pool instanceof EndpointPool)) throw new Error('expected an HTTP/1.1 pool');
  return pool;
}

describe('endpoint pools', () => {
  it('reuses one keep-alive connection for sequential requests', async () => {
    const a = await server();
    const pools = new EndpointPools();
    const pool = http1Pool(pools.get(a.endpoint));
    for (let i = 0; i < 10; i++) {
      expect(await get(pool)).toBe(200);
      expect(pool.sockets()).toEqual([0, 1]);
    }
    expect(a.connections()).toBe(1);
    expect(http1Pool(pools.get(a.endpoint)).sockets()).toEqual([0, 1]);
    pools.destroy();
  });

  it('retires the pools of endpoints that left, closing their idle sockets', async () => {
    const a = await server();
    const b = await server();
    const pools = new EndpointPools();
    await get(http1Pool(pools.get(a.endpoint)));
    await get(http1Pool(pools.get(b.endpoint)));
    const poolA = http1Pool(pools.get(a.endpoint));
    expect(poolA.sockets()).toEqual([0, 1]);
    pools.retain([b.endpoint]);
    expect(pools.addresses()).toEqual([b.endpoint.address]);
    expect(poolA.isRetired).toBe(true);
    await settled(() => a.open() === 0);
    expect(a.open()).toBe(0);
    expect(b.open()).toBe(1);
    // The address is a new pool if it comes back.
    expect(http1Pool(pools.get(a.endpoint))).not.toBe(poolA);
    pools.destroy();
  });

  it('refuses requests on a retired pool before sending anything', async () => {
    const a = await server();
    const pools = new EndpointPools();
    const pool = http1Pool(pools.get(a.endpoint));
    pools.retain([]);
    await expect(get(pool)).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    expect(a.connections()).toBe(0);
    pools.destroy();
  });
});
