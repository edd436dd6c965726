// Tests: the REST client over several control-plane replicas — failover within a call, stickiness, and answers that are not retried.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startControlPlane, type ControlPlane } from '../../src/control/index.js';
import { NotFoundError, ValidationError, type WeftError } from '../../src/core/index.js';
import { ControlClient, ControlUnavailableError } from '../../src/workload/index.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { startFakeControlPlane, type FakeControlPlane } from '../support/fake-control-plane.js';

function startControl(): Promise<ControlPlane> {
  const runtime = createRuntime({ name: 'control', processMetrics: false, logger: pino({ level: 'silent' }) });
  return startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dev: true, runtime });
}

/** A URL where nothing listens: a server is started and closed, so the port was free a moment ago. */
async function deadUrl(): Promise<string> {
  const probe = await startFakeControlPlane();
  await probe.close();
  return probe.url;
}

const instance = { id: 'g1', service: 'greeter', host: '127.0.0.1', port: 9001, ttlMs: 60_000 };

describe('ControlClient with several replicas', () => {
  let control: ControlPlane | undefined;
  const fakes: FakeControlPlane[] = [];
  const servers: http.Server[] = [];
  let client: ControlClient | undefined;

  const fake = async (): Promise<FakeControlPlane> => {
    const f = await startFakeControlPlane();
    fakes.push(f);
    return f;
  };

  afterEach(async () => {
    client?.close();
    client = undefined;
    await control?.close();
    control = undefined;
    for (const f of fakes.splice(0)) await f.close();
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  it('uses the next replica when the first refuses connections, then sticks to the one that answered', async () => {
    control = await startControl();
    const dead = await deadUrl();
    client = new ControlClient(`${dead},${control.url}`);
    expect(client.urls).toEqual([dead, control.url]);
    expect(client.url).toBe(dead);

    const reply = await client.register(instance);
    expect(reply.instance.id).toBe('g1');
    expect(client.url).toBe(control.url);
    expect((await client.services()).services).toEqual([{ name: 'greeter', instances: 1, passing: 1, critical: 0 }]);
  });

  it('moves on from a replica answering 503 and does not go back to it while the other answers', async () => {
    const first = await fake();
    const second = await fake();
    first.failWith = { status: 503, body: { code: 'STORE_UNAVAILABLE', message: 'the store cannot be reached' } };
    client = new ControlClient({ url: [first.url, second.url] });

    await client.register(instance);
    await client.heartbeat('g1');
    await client.services();
    // Alone, the failing replica's own answer comes through unchanged.
    const alone = new ControlClient(first.url);
    expect(await alone.services().catch((e: unknown) => e)).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true });
    alone.close();
    expect(first.requests).toEqual(['PUT /api/v1/instances/g1', 'GET /api/v1/services']);
    expect(second.requests).toEqual(['PUT /api/v1/instances/g1', 'PUT /api/v1/instances/g1/heartbeat', 'GET /api/v1/services']);
    expect(client.url).toBe(second.url);
  });

  it('takes 404, 400 and 409 as answers: the other replica is not asked', async () => {
    const first = await fake();
    const second = await fake();
    second.upsert({ ...instance, weight: 1, protocol: 'http1', meta: {}, tags: [], health: 'passing' });
    client = new ControlClient([first.url, second.url]);

    expect(await client.heartbeat('g1').catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);
    const bad = await client.register({ ...instance, port: 70000 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    first.failWith = { status: 409, body: { code: 'CONFLICT', message: 'changed meanwhile' } };
    expect(await client.services().catch((e: unknown) => e)).toMatchObject({ code: 'CONFLICT', message: 'changed meanwhile' });
    expect(second.requests).toEqual([]);
    expect(first.requests).toHaveLength(3);
  });

  it('skips a replica that accepts connections but never answers, within the per-attempt timeout', async () => {
    const silent = http.createServer(() => {
      // Never answers.
    });
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    control = await startControl();
    client = new ControlClient({ url: [silentUrl, control.url], timeoutMs: 300 });
    expect((await client.services()).services).toEqual([]);
    expect(client.url).toBe(control.url);
  });

  it('fails with CONTROL_UNAVAILABLE naming every URL when no replica answers', async () => {
    const dead1 = await deadUrl();
    const down = await fake();
    down.failWith = { status: 503, body: { code: 'STORE_UNAVAILABLE', message: 'the store cannot be reached' } };
    client = new ControlClient([dead1, down.url]);
    const err = (await client.services().catch((e: unknown) => e)) as WeftError;
    expect(err).toBeInstanceOf(ControlUnavailableError);
    expect(err.code).toBe('CONTROL_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(dead1);
    expect(err.message).toContain(down.url);
    expect(err.message).toContain('STORE_UNAVAILABLE');
    expect(err.details).toMatchObject({ urls: [dead1, down.url] });
    expect(down.requests).toEqual(['GET /api/v1/services']);
  });

  it('does not try another replica once the caller aborted', async () => {
    const silent = http.createServer(() => {
      // Never answers.
    });
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const second = await fake();
    client = new ControlClient([`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, second.url]);
    const abort = new AbortController();
    const call = client.services({ signal: abort.signal, timeoutMs: 10_000 }).catch((e: unknown) => e);
    setTimeout(() => abort.abort(new Error('caller gave up')), 50);
    expect(await call).toMatchObject({ message: 'caller gave up' });
    expect(second.requests).toEqual([]);
  });
});
