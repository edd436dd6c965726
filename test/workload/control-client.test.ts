// Tests: the control-plane REST client against the real control plane, and every error mapping.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startControlPlane, type ControlPlane } from '../../src/control/index.js';
import { NotFoundError, ValidationError, WeftError } from '../../src/core/index.js';
import { ControlClient, ControlUnavailableError } from '../../src/workload/index.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { startFakeControlPlane, type FakeControlPlane } from '../support/fake-control-plane.js';

function startControl(): Promise<ControlPlane> {
  const runtime = createRuntime({ name: 'control', processMetrics: false, logger: pino({ level: 'silent' }) });
  return startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dev: true, runtime });
}

describe('ControlClient', () => {
  let control: ControlPlane | undefined;
  let server: FakeControlPlane | undefined;
  let client: ControlClient | undefined;
  const extra: http.Server[] = [];

  afterEach(async () => {
    client?.close();
    client = undefined;
    await server?.close();
    server = undefined;
    await control?.close();
    control = undefined;
    for (const s of extra.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  it('registers, heartbeats, lists and deregisters', async () => {
    control = await startControl();
    client = new ControlClient(control.url);
    const reg = await client.register({ id: 'g1', service: 'greeter', host: '127.0.0.1', port: 9001, meta: { zone: 'a' } });
    expect(reg.instance).toMatchObject({ id: 'g1', service: 'greeter', port: 9001, weight: 1, health: 'passing', meta: { zone: 'a' } });
    expect(reg.version).toBeGreaterThan(0);

    const beat = await client.heartbeat('g1', 'critical', 'app down');
    expect(beat.instance).toMatchObject({ health: 'critical', healthReason: 'app down' });

    const services = await client.services();
    expect(services.services).toEqual([{ name: 'greeter', instances: 1, passing: 0, critical: 1 }]);
    const instances = await client.instances('greeter');
    expect(instances.service).toBe('greeter');
    expect(instances.instances.map((i) => i.id)).toEqual(['g1']);

    const gone = await client.deregister('g1');
    expect(gone.instance.id).toBe('g1');
    expect((await client.instances('greeter')).instances).toEqual([]);
  });

  it('maps 404 to NotFoundError and 400 to ValidationError naming the field', async () => {
    control = await startControl();
    client = new ControlClient({ url: control.url });
    const beat = await client.heartbeat('nobody').catch((e: unknown) => e);
    expect(beat).toBeInstanceOf(NotFoundError);
    expect((beat as WeftError).code).toBe('NOT_FOUND');
    expect(await client.deregister('nobody').catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);

    const bad = await client.register({ id: 'g1', service: 'greeter', host: '127.0.0.1', port: 70000 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect((bad as ValidationError).field).toBe('port');
    expect((bad as ValidationError).message).toBe('port: expected 1-65535');
    const unknownField = await client.register({ id: 'g1', service: 'greeter', host: 'h', port: 1, colour: 'red' } as never).catch((e: unknown) => e);
    expect(unknownField).toMatchObject({ code: 'VALIDATION_FAILED', field: 'colour' });
    const badName = await client.instances('Not_A_Label').catch((e: unknown) => e);
    expect(badName).toMatchObject({ code: 'VALIDATION_FAILED', field: 'name' });
  });

  it('keeps the server code and message for other statuses', async () => {
    // The real control plane has no way to fail on demand, so a stand-in speaking the same API does.
    server = await startFakeControlPlane();
    client = new ControlClient(server.url);
    server.failWith = { status: 503, body: { code: 'STORE_CLOSED', message: 'the store is closed' } };
    const err = await client.services().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeftError);
    expect(err).toMatchObject({ code: 'STORE_CLOSED', message: 'the store is closed', retryable: true });

    server.failWith = { status: 409, body: { code: 'SOMETHING_NEW', message: 'a code this client does not know' } };
    const unknown = await client.services().catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'INTERNAL', message: 'a code this client does not know', retryable: false });
    expect((unknown as WeftError).details).toMatchObject({ status: 409, serverCode: 'SOMETHING_NEW' });
  });

  it('reports an unreachable control plane as CONTROL_UNAVAILABLE naming the URL', async () => {
    const probe = await startFakeControlPlane();
    const url = probe.url;
    await probe.close();
    client = new ControlClient(url);
    const err = await client.services().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlUnavailableError);
    expect((err as WeftError).code).toBe('CONTROL_UNAVAILABLE');
    expect((err as WeftError).retryable).toBe(true);
    expect((err as Error).message).toContain(url);
  });

  it('times out a control plane that accepts but never answers', async () => {
    const silent = http.createServer(() => {
      // Never answers.
    });
    extra.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    client = new ControlClient({ url, timeoutMs: 10_000 });
    const err = await client.services({ timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlUnavailableError);
    expect((err as Error).message).toContain(url);
    expect((err as Error).message).toContain('200 ms');
  });

  it('rejects a base URL that is not http(s)', () => {
    expect(() => new ControlClient('ftp://example')).toThrow(ValidationError);
    expect(() => new ControlClient('not a url')).toThrow(ValidationError);
  });
});
