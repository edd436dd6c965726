// Consul API: blocking queries over real HTTP — X-Consul-Index on every list reply, index 0 and index resets, waits, wake-ups.
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_WAIT_MS, MAX_WAIT_MS, parseBlockingQuery } from '../../../src/control/consul/index.js';
import { call, startFixture, stopFixtures } from './consul-fixture.js';

afterEach(stopFixtures);

const LISTS = ['/v1/agent/services', '/v1/catalog/services', '/v1/catalog/service/web', '/v1/health/service/web', '/v1/health/checks/web', '/v1/catalog/nodes'];
const register = { Name: 'web', ID: 'web-1', Port: 8080, Check: { TTL: '30s', Status: 'passing' } };

function indexOf(headers: Headers): number {
  return Number(headers.get('x-consul-index'));
}

describe('Consul blocking queries', () => {
  it('sends a JSON body and an X-Consul-Index of at least 1 on every list reply, even on an empty registry', async () => {
    const { plane } = await startFixture();
    for (const path of LISTS) {
      const reply = await call(plane, 'GET', path);
      expect(reply.status, path).toBe(200);
      expect(reply.headers.get('content-type'), path).toBe('application/json');
      expect(indexOf(reply.headers), path).toBeGreaterThanOrEqual(1);
      JSON.parse(reply.text);
    }
  });

  it('answers at once for index=0 and for an index ahead of the registry (a reset), with the current index', async () => {
    const { plane } = await startFixture();
    expect((await call(plane, 'PUT', '/v1/agent/service/register', register)).status).toBe(200);
    const current = indexOf((await call(plane, 'GET', '/v1/health/service/web')).headers);
    // Each would block for 5 minutes if it were treated as a normal blocking query; the fetch gives up after 5 s.
    const zero = await call(plane, 'GET', '/v1/health/service/web?index=0&wait=5m', undefined, 5_000);
    expect(indexOf(zero.headers)).toBe(current);
    const ahead = await call(plane, 'GET', `/v1/health/service/web?index=${current + 1000}&wait=5m`, undefined, 5_000);
    expect(ahead.status).toBe(200);
    expect(indexOf(ahead.headers)).toBe(current);
    const behind = await call(plane, 'GET', `/v1/health/service/web?index=${current - 1}&wait=5m`, undefined, 5_000);
    expect(indexOf(behind.headers)).toBe(current);
  });

  it('holds a query at the current index for the wait, then answers with the same index', async () => {
    const { plane } = await startFixture();
    const current = indexOf((await call(plane, 'GET', '/v1/catalog/services')).headers);
    const started = Date.now();
    const reply = await call(plane, 'GET', `/v1/catalog/services?index=${current}&wait=1s`);
    const elapsed = Date.now() - started;
    expect(indexOf(reply.headers)).toBe(current);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    // The npm client gives up after wait + max(10% of wait, 500 ms); Consul's jitter stays within wait/16.
    expect(elapsed).toBeLessThan(1_500);
  });

  it('wakes a held query on a registry change and answers with the new index', async () => {
    const { plane } = await startFixture();
    const current = indexOf((await call(plane, 'GET', '/v1/agent/services')).headers);
    const held = call(plane, 'GET', `/v1/agent/services?index=${current}&wait=30s`, undefined, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // A registration over the weft REST API wakes Consul watchers as well.
    expect((await call(plane, 'PUT', '/api/v1/instances/rest-1', { service: 'greeter', host: '127.0.0.1', port: 9000 })).status).toBe(201);
    const reply = await held;
    expect(indexOf(reply.headers)).toBeGreaterThan(current);
    expect(Object.keys(JSON.parse(reply.text) as object)).toEqual(['rest-1']);
  });

  it('rejects malformed index and wait parameters with 400 naming them', async () => {
    const { plane } = await startFixture();
    const badIndex = await call(plane, 'GET', '/v1/catalog/services?index=-1');
    expect(badIndex.status).toBe(400);
    expect(badIndex.text).toMatch(/^index: /);
    const badWait = await call(plane, 'GET', '/v1/catalog/services?index=1&wait=forever');
    expect(badWait.status).toBe(400);
    expect(badWait.text).toMatch(/^wait: /);
  });

  it('reads waits in s, ms and m, defaults to 5 minutes and caps at 10', () => {
    const query = (q: string) => parseBlockingQuery(new URL(`http://x/v1/catalog/services?${q}`));
    expect(query('index=3')).toEqual({ index: 3, waitMs: DEFAULT_WAIT_MS });
    expect(query('index=3&wait=10s').waitMs).toBe(10_000);
    expect(query('index=3&wait=250ms').waitMs).toBe(250);
    expect(query('index=3&wait=2m').waitMs).toBe(120_000);
    expect(query('index=3&wait=1h').waitMs).toBe(MAX_WAIT_MS);
    expect(query('index=3&wait=1m30s').waitMs).toBe(90_000);
    expect(query('').index).toBe(0);
  });
});
