// Control plane: the watchers gauge counts open NDJSON watch streams and waiting Consul blocking queries, over real HTTP.
import { request, type ClientRequest } from 'node:http';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../src/control/index.js';
import { createRuntime } from '../../src/telemetry/index.js';

const planes: ControlPlane[] = [];
const aborts: AbortController[] = [];
afterEach(async () => {
  for (const abort of aborts.splice(0)) abort.abort();
  for (const plane of planes.splice(0)) await plane.close();
});

async function start(): Promise<ControlPlane> {
  const runtime = createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) });
  const plane = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dev: true, runtime });
  planes.push(plane);
  return plane;
}

/** A watch stream held open once its headers arrived; destroying the request closes it. */
function openWatch(plane: ControlPlane): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = request(`${plane.url}/api/v1/watch`, (res) => {
      res.resume();
      resolve(req);
    });
    req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
    req.end();
  });
}

/** The watchers gauge of one kind, polled until it reads `expected` (at most 5 s, 100 reads). */
async function watchersReach(plane: ControlPlane, kind: string, expected: number): Promise<string> {
  const line = `weft_control_watchers{kind="${kind}"} ${expected}`;
  let text = '';
  for (let i = 0; i < 100; i++) {
    text = await (await fetch(`${plane.url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    if (text.split('\n').includes(line)) return text;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return text;
}

describe('control-plane watchers gauge', () => {
  it('counts three open watch streams, then none once they close', async () => {
    const plane = await start();
    expect((await watchersReach(plane, 'watch', 0)).split('\n')).toContain('weft_control_watchers{kind="watch"} 0');
    const streams = await Promise.all([openWatch(plane), openWatch(plane), openWatch(plane)]);
    const open = await watchersReach(plane, 'watch', 3);
    expect(open.split('\n')).toContain('weft_control_watchers{kind="watch"} 3');
    expect(open.split('\n')).toContain('weft_control_watchers{kind="consul_blocking"} 0');
    for (const stream of streams) stream.destroy();
    expect((await watchersReach(plane, 'watch', 0)).split('\n')).toContain('weft_control_watchers{kind="watch"} 0');
  });

  it('counts Consul blocking queries while they wait, and not once they were answered or abandoned', async () => {
    const plane = await start();
    const first = await fetch(`${plane.url}/v1/catalog/services`, { signal: AbortSignal.timeout(5_000) });
    await first.text();
    const index = first.headers.get('x-consul-index');
    const abandoned = new AbortController();
    aborts.push(abandoned);
    const waitingOnChange = fetch(`${plane.url}/v1/catalog/services?index=${index}&wait=30s`, { signal: AbortSignal.timeout(10_000) });
    void fetch(`${plane.url}/v1/health/service/web?index=${index}&wait=30s`, { signal: abandoned.signal }).catch(() => undefined);
    expect((await watchersReach(plane, 'consul_blocking', 2)).split('\n')).toContain('weft_control_watchers{kind="consul_blocking"} 2');
    abandoned.abort();
    expect((await watchersReach(plane, 'consul_blocking', 1)).split('\n')).toContain('weft_control_watchers{kind="consul_blocking"} 1');
    // A registration wakes the other one with an answer.
    const registered = await fetch(`${plane.url}/api/v1/instances/web-1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'web', host: '127.0.0.1', port: 9000 }),
      signal: AbortSignal.timeout(5_000),
    });
    expect(registered.status).toBe(201);
    expect((await waitingOnChange).status).toBe(200);
    expect((await watchersReach(plane, 'consul_blocking', 0)).split('\n')).toContain('weft_control_watchers{kind="consul_blocking"} 0');
  });
});
