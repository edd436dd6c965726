// Tests for TCP across two sidecars on real sockets: the outbound port dials the inbound port over strict mTLS (certificates from the project's CA), checks its SPIFFE id, and the inbound side authorizes the caller.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/core/index.js';
import type { MtlsMode } from '../../src/model/index.js';
import type { MeshTls, WorkloadIdentity } from '../../src/security/tls/index.js';
import { createTcpInbound, createTcpUpstreamListener, TCP_METRIC_NAMES } from '../../src/tcp/index.js';
import {
  Cleanups,
  dial,
  greetingApp,
  meshTls,
  metric,
  quietRuntime,
  replyAfterFinApp,
  startApp,
  tcpInstance,
  TestCa,
  TestSnapshots,
  type Client,
  type TestApp,
} from './tcp-fixtures.js';

let ca: TestCa;
let db: WorkloadIdentity;
let payments: WorkloadIdentity;
let frontend: WorkloadIdentity;
let intruder: WorkloadIdentity;

beforeAll(async () => {
  ca = await TestCa.open();
  [db, payments, frontend, intruder] = await Promise.all([ca.identity('db'), ca.identity('payments'), ca.identity('frontend'), ca.identity('intruder')]);
});
afterAll(() => ca.remove());

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

async function started(app: Promise<TestApp>): Promise<TestApp> {
  const value = await app;
  cleanups.add(() => value.close());
  return value;
}

/** The server sidecar's inbound port for `db`, strict unless told, holding `identity` (which a test may make the wrong one). */
async function serverSidecar(app: TestApp, identity: WorkloadIdentity, snapshots = new TestSnapshots(), mode: MtlsMode = 'strict'): Promise<{ port: number; runtime: Runtime }> {
  const runtime = quietRuntime();
  const inbound = createTcpInbound({ runtime, snapshots, service: 'db', app: { host: '127.0.0.1', port: app.port }, mtls: meshTls(mode, identity) });
  const { port } = await inbound.listen('127.0.0.1', 0);
  cleanups.add(() => inbound.close(0));
  return { port, runtime };
}

/** The client sidecar's outbound port for `db` over the given inbound ports, dialling with `mesh`. */
async function clientSidecar(mesh: MeshTls, inboundPorts: number[]): Promise<{ port: number; runtime: Runtime }> {
  const runtime = quietRuntime();
  const snapshots = new TestSnapshots(inboundPorts.map((port, i) => tcpInstance(`db-${i}`, port)));
  const listener = createTcpUpstreamListener({ runtime, snapshots, service: 'db', mtls: mesh });
  const { port } = await listener.listen('127.0.0.1', 0);
  cleanups.add(() => listener.close(0));
  return { port, runtime };
}

async function client(port: number): Promise<Client> {
  const c = await dial(port);
  cleanups.add(() => void c.socket.destroy());
  return c;
}

describe('tcp between two sidecars over strict mTLS', () => {
  it('carries a server-first greeting, both directions and a reply after the FIN', async () => {
    const greeter = await started(greetingApp('db ready'));
    const server = await serverSidecar(greeter, db);
    const { port, runtime } = await clientSidecar(meshTls('strict', frontend), [server.port]);
    const c = await client(port);
    await c.waitFor((x) => x.text() === '220 db ready\r\n', 3_000);
    c.socket.write('query');
    await c.waitFor((x) => x.text() === '220 db ready\r\nquery');

    const replier = await started(replyAfterFinApp());
    const second = await serverSidecar(replier, db);
    const asker = await client((await clientSidecar(meshTls('strict', frontend), [second.port])).port);
    asker.socket.end('question');
    await asker.waitFor((x) => x.ended, 3_000);
    expect(asker.text()).toBe('got 8 bytes: question');
    expect(await metric(runtime, TCP_METRIC_NAMES.connectFailures, { direction: 'outbound', service: 'db' })).toBe(0);
  });

  it('moves 2 MiB each way through both sidecars', async () => {
    const echo = await started(startApp((socket) => socket.pipe(socket)));
    const server = await serverSidecar(echo, db);
    const { port } = await clientSidecar(meshTls('strict', frontend), [server.port]);
    const c = await client(port);
    const payload = Buffer.alloc(2 * 1024 * 1024, 'abcdefgh');
    c.socket.end(payload);
    await c.waitFor((x) => x.ended, 10_000);
    expect(Buffer.concat(c.chunks).equals(payload)).toBe(true);
  });

  it('refuses an instance that proves another identity than its service, and fails over to one that proves the right one', async () => {
    const impostorApp = await started(greetingApp('impostor'));
    const realApp = await started(greetingApp('real'));
    // Registered as db, but its sidecar holds the certificate of payments.
    const impostor = await serverSidecar(impostorApp, payments);
    const real = await serverSidecar(realApp, db);

    const alone = meshTls('strict', frontend);
    const lonely = await clientSidecar(alone, [impostor.port]);
    const refused = await client(lonely.port);
    await refused.waitClosed(3_000);
    expect(refused.bytes()).toBe(0);
    expect(alone.outboundFailures.peer_identity_mismatch).toBe(1);
    expect(await metric(lonely.runtime, TCP_METRIC_NAMES.refused, { direction: 'outbound', service: 'db', reason: 'connect_failed' })).toBe(1);

    const mesh = meshTls('strict', frontend);
    const { port } = await clientSidecar(mesh, [impostor.port, real.port]);
    for (let i = 0; i < 4; i++) {
      const c = await client(port);
      await c.waitFor((x) => x.text().endsWith('\r\n'), 3_000);
      expect(c.text()).toBe('220 real\r\n');
      c.socket.destroy();
    }
    expect(mesh.outboundFailures.peer_identity_mismatch).toBeGreaterThanOrEqual(1);
    expect(impostorApp.accepted()).toBe(0);
  });

  it('lets the server sidecar refuse a caller its AuthorizationPolicy does not name, by the certificate it proved', async () => {
    const app = await started(greetingApp('guarded'));
    const snapshots = new TestSnapshots();
    snapshots.setKindPolicy('AuthorizationPolicy', { service: 'db', rules: [{ from: { services: ['frontend'] } }] });
    const server = await serverSidecar(app, db, snapshots);

    const allowed = await client((await clientSidecar(meshTls('strict', frontend), [server.port])).port);
    await allowed.waitFor((x) => x.text() === '220 guarded\r\n', 3_000);

    const denied = await client((await clientSidecar(meshTls('strict', intruder), [server.port])).port);
    await denied.waitClosed(3_000);
    expect(denied.bytes()).toBe(0);
    expect(await metric(server.runtime, TCP_METRIC_NAMES.refused, { direction: 'inbound', service: 'db', reason: 'forbidden' })).toBe(1);
    expect(app.accepted()).toBe(1);
  });

  it('dials in plaintext when the service is disabled, which a strict port refuses', async () => {
    const app = await started(greetingApp('strict only'));
    const server = await serverSidecar(app, db);
    const { port } = await clientSidecar(meshTls('disabled', frontend), [server.port]);
    const c = await client(port);
    // The client sidecar connects at once and sends nothing; the strict port waits for a handshake that never comes.
    c.socket.write('hello?');
    await c.waitClosed(3_000);
    expect(c.text()).toBe('');
    expect(await metric(server.runtime, TCP_METRIC_NAMES.refused, { direction: 'inbound', service: 'db', reason: 'plaintext' })).toBe(1);
  });
});

describe('tcp between two sidecars, the server in permissive mode', () => {
  it('greets a caller whose sidecar dials mTLS, by its handshake', async () => {
    const app = await started(greetingApp('mixed'));
    const server = await serverSidecar(app, db, new TestSnapshots(), 'permissive');
    const c = await client((await clientSidecar(meshTls('permissive', frontend), [server.port])).port);
    await c.waitFor((x) => x.text() === '220 mixed\r\n', 3_000);
  });

  it('greets a caller whose sidecar dials plaintext and sends nothing, once the detection timeout has passed', async () => {
    const app = await started(greetingApp('mixed'));
    const server = await serverSidecar(app, db, new TestSnapshots(), 'permissive');
    const c = await client((await clientSidecar(meshTls('disabled', frontend), [server.port])).port);
    await c.waitFor((x) => x.text() === '220 mixed\r\n', 3_000);
    c.socket.write('and back');
    await c.waitFor((x) => x.text() === '220 mixed\r\nand back');
  });
});
