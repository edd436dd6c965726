// Tests for the inbound TCP port on real sockets: plaintext, permissive detection, strict mTLS with certificates from the project's CA, authorization by caller, an app that is down, drain.
import { generateKeyPairSync } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/core/index.js';
import type { MeshTls, WorkloadIdentity } from '../../src/security/tls/index.js';
import { mtlsConnectionOptions } from '../../src/security/tls/index.js';
import { createTcpInbound, TCP_METRIC_NAMES, type TcpLimitOverrides } from '../../src/tcp/index.js';
import {
  Cleanups,
  Client,
  deadPort,
  dial,
  echoApp,
  greetingApp,
  meshTls,
  metric,
  quietRuntime,
  replyAfterFinApp,
  spiffe,
  TestCa,
  TestSnapshots,
  type TestApp,
} from './tcp-fixtures.js';

let ca: TestCa;
let otherCa: TestCa;
let db: WorkloadIdentity;
let frontend: WorkloadIdentity;
let intruder: WorkloadIdentity;
let untrusted: WorkloadIdentity;

beforeAll(async () => {
  ca = await TestCa.open();
  // Same trust domain, another root: its certificates name plausible ids that our bundle does not vouch for.
  otherCa = await TestCa.open();
  [db, frontend, intruder, untrusted] = await Promise.all([ca.identity('db'), ca.identity('frontend'), ca.identity('intruder'), otherCa.identity('frontend')]);
});
afterAll(async () => {
  await ca.remove();
  await otherCa.remove();
});

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

interface Inbound {
  port: number;
  runtime: Runtime;
  close(drainMs: number): Promise<void>;
}

async function inbound(app: TestApp | number, options: { mtls?: MeshTls; snapshots?: TestSnapshots; limits?: TcpLimitOverrides } = {}): Promise<Inbound> {
  const runtime = quietRuntime();
  const server = createTcpInbound({
    runtime,
    snapshots: options.snapshots ?? new TestSnapshots(),
    service: 'db',
    app: { host: '127.0.0.1', port: typeof app === 'number' ? app : app.port },
    ...(options.mtls ? { mtls: options.mtls } : {}),
    limits: options.limits ?? {},
  });
  const { port } = await server.listen('127.0.0.1', 0);
  cleanups.add(() => server.close(0));
  return { port, runtime, close: (drainMs) => server.close(drainMs) };
}

async function started(app: Promise<TestApp>): Promise<TestApp> {
  const value = await app;
  cleanups.add(() => value.close());
  return value;
}

async function plain(port: number): Promise<Client> {
  const client = await dial(port);
  cleanups.add(() => void client.socket.destroy());
  return client;
}

/** An mTLS client holding `identity`, expecting the port to prove `db`; resolves once the handshake is done (or fails). */
function secure(port: number, identity: WorkloadIdentity): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ...mtlsConnectionOptions(identity, { expectedSpiffeId: spiffe('db') }) });
    const client = new Client(socket, true);
    cleanups.add(() => void socket.destroy());
    socket.once('secureConnect', () => resolve(client));
    socket.once('error', reject);
  });
}

const refusals = (runtime: Runtime, reason: string): Promise<number> => metric(runtime, TCP_METRIC_NAMES.refused, { direction: 'inbound', service: 'db', reason });

describe('the inbound TCP port without mTLS (disabled)', () => {
  it('relays at once, reading nothing first: a server-first greeting arrives although detection would wait 5 s', async () => {
    const app = await started(greetingApp('mysql'));
    const { port } = await inbound(app, { limits: { detectTimeoutMs: 5_000 } });
    const client = await plain(port);
    await client.waitFor((c) => c.text() === '220 mysql\r\n', 1_000);
    client.socket.write('PING');
    await client.waitFor((c) => c.text() === '220 mysql\r\nPING');
  });

  it('carries a reply after the client shut its side', async () => {
    const app = await started(replyAfterFinApp());
    const { port } = await inbound(app, { mtls: meshTls('disabled', db) });
    const client = await plain(port);
    client.socket.end('question');
    await client.waitFor((c) => c.ended);
    expect(client.text()).toBe('got 8 bytes: question');
  });

  it('closes the client when the app is down, and counts it', async () => {
    const { port, runtime } = await inbound(await deadPort());
    const client = await plain(port);
    await client.waitClosed();
    expect(client.bytes()).toBe(0);
    expect(await refusals(runtime, 'app_unavailable')).toBe(1);
    expect(await metric(runtime, TCP_METRIC_NAMES.connectFailures, { direction: 'inbound', service: 'db' })).toBe(1);
  });
});

describe('the inbound TCP port in permissive mode', () => {
  it('takes a silent client as plaintext after the detection timeout, so the app can greet it', async () => {
    const app = await started(greetingApp('smtp'));
    const { port } = await inbound(app, { mtls: meshTls('permissive', db), limits: { detectTimeoutMs: 100 } });
    const client = await plain(port);
    const since = Date.now();
    await client.waitFor((c) => c.text() === '220 smtp\r\n', 2_000);
    expect(Date.now() - since).toBeGreaterThanOrEqual(80);
  });

  it('decides on the first byte without waiting for the timeout: plaintext and TLS clients on one port', async () => {
    const app = await started(echoApp());
    const { port } = await inbound(app, { mtls: meshTls('permissive', db), limits: { detectTimeoutMs: 5_000 } });
    const client = await plain(port);
    client.socket.write('plain bytes');
    await client.waitFor((c) => c.text() === 'plain bytes', 1_000);
    const tls = await secure(port, frontend);
    tls.socket.write('secret bytes');
    await tls.waitFor((c) => c.text() === 'secret bytes', 1_000);
  });

  it('greets a TLS client once its handshake is done', async () => {
    const app = await started(greetingApp('redis'));
    const { port } = await inbound(app, { mtls: meshTls('permissive', db) });
    const client = await secure(port, frontend);
    await client.waitFor((c) => c.text() === '220 redis\r\n', 2_000);
  });
});

describe('the inbound TCP port in strict mode', () => {
  it('serves mTLS clients of the trust bundle: greeting, echo and a reply after the FIN', async () => {
    const greeter = await started(greetingApp('postgres'));
    const { port } = await inbound(greeter, { mtls: meshTls('strict', db) });
    const client = await secure(port, frontend);
    await client.waitFor((c) => c.text() === '220 postgres\r\n', 2_000);
    client.socket.write('select 1');
    await client.waitFor((c) => c.text() === '220 postgres\r\nselect 1');

    const replier = await started(replyAfterFinApp());
    const second = await inbound(replier, { mtls: meshTls('strict', db) });
    const asker = await secure(second.port, frontend);
    asker.socket.end('question');
    await asker.waitFor((c) => c.ended);
    expect(asker.text()).toBe('got 8 bytes: question');
  });

  it('refuses plaintext, silence, clients without a certificate and certificates of another root, counting each', async () => {
    const app = await started(greetingApp('never'));
    const { port, runtime } = await inbound(app, { mtls: meshTls('strict', db), limits: { handshakeTimeoutMs: 300 } });

    const talker = await plain(port);
    talker.socket.write('GET / HTTP/1.1\r\n\r\n');
    await talker.waitClosed();
    expect(await refusals(runtime, 'plaintext')).toBe(1);

    const silent = await plain(port);
    await silent.waitClosed(3_000);
    expect(await refusals(runtime, 'handshake')).toBe(1);

    const anonymous = tlsConnect({ host: '127.0.0.1', port, ca: db.current.material.trustBundle, minVersion: 'TLSv1.3', checkServerIdentity: () => undefined });
    const anonymousClient = new Client(anonymous, true);
    await anonymousClient.waitClosed();

    // A client that trusts our root but presents a certificate of another one.
    const { key, certChain } = untrusted.current.material;
    const foreign = tlsConnect({ host: '127.0.0.1', port, key, cert: certChain, ca: db.current.material.trustBundle, minVersion: 'TLSv1.3', checkServerIdentity: () => undefined });
    const foreignClient = new Client(foreign, true);
    await foreignClient.waitClosed();

    expect(await refusals(runtime, 'handshake')).toBe(3);
    expect(app.accepted()).toBe(0);
    expect(anonymousClient.text() + foreignClient.text()).toBe('');
  });

  it('takes its mode from the service policy over the mesh default', async () => {
    const app = await started(greetingApp('pinned'));
    const snapshots = new TestSnapshots();
    snapshots.setPolicy({ service: 'db', mtls: 'strict' });
    const { port, runtime } = await inbound(app, { mtls: meshTls('permissive', db), snapshots, limits: { detectTimeoutMs: 50, handshakeTimeoutMs: 300 } });
    const client = await plain(port);
    await client.waitClosed(3_000);
    expect(client.bytes()).toBe(0);
    expect(await refusals(runtime, 'handshake')).toBe(1);
  });

  it('ends a relayed TLS connection cleanly on drain', async () => {
    const app = await started(greetingApp('draining'));
    const { port, close } = await inbound(app, { mtls: meshTls('strict', db) });
    const client = await secure(port, frontend);
    await client.waitFor((c) => c.text() === '220 draining\r\n');
    await close(1_000);
    expect(client.ended).toBe(true);
    await client.waitClosed(1_000);
    expect(client.error).toBeUndefined();
  });
});

describe('authorization of tcp connections', () => {
  async function guarded(policy: Record<string, unknown>, mode: 'strict' | 'permissive' = 'strict'): Promise<{ port: number; runtime: Runtime; app: TestApp }> {
    const app = await started(greetingApp('guarded'));
    const snapshots = new TestSnapshots();
    snapshots.setKindPolicy('AuthorizationPolicy', { service: 'db', ...policy });
    const { port, runtime } = await inbound(app, { mtls: meshTls(mode, db), snapshots, limits: { detectTimeoutMs: 50 } });
    return { port, runtime, app };
  }

  /** Whether the app's greeting reached the client (true), or the connection closed without it (false). */
  async function greeted(client: Client): Promise<boolean> {
    await client.waitFor((x) => x.closed || x.text().endsWith('\r\n'), 3_000);
    return client.text() === '220 guarded\r\n';
  }

  it('lets in the services a rule names by their certificate and refuses any other, counting the denial', async () => {
    const { port, runtime, app } = await guarded({ rules: [{ from: { services: ['frontend'] } }] });
    expect(await greeted(await secure(port, frontend))).toBe(true);
    const denied = await secure(port, intruder);
    expect(await greeted(denied)).toBe(false);
    await denied.waitClosed();
    expect(await refusals(runtime, 'forbidden')).toBe(1);
    expect(app.accepted()).toBe(1);
  });

  it('keeps a deny-by-default policy denying plaintext callers, unless a rule allows the unauthenticated', async () => {
    const closed = await guarded({ rules: [{ from: { services: ['frontend'] } }] }, 'permissive');
    expect(await greeted(await plain(closed.port))).toBe(false);
    expect(await refusals(closed.runtime, 'forbidden')).toBe(1);
    const open = await guarded({ rules: [{ from: { unauthenticated: true } }] }, 'permissive');
    expect(await greeted(await plain(open.port))).toBe(true);
  });

  it('reads rules on HTTP attributes safely: such an allow grants nothing, such a deny refuses the whole connection', async () => {
    const allowByPath = await guarded({ rules: [{ from: { services: ['frontend'] }, to: { pathPrefix: '/public' } }] });
    expect(await greeted(await secure(allowByPath.port, frontend))).toBe(false);
    const denyByMethod = await guarded({ default: 'allow', rules: [{ from: { services: ['frontend'] }, to: { methods: ['DELETE'] }, action: 'deny' }] });
    expect(await greeted(await secure(denyByMethod.port, frontend))).toBe(false);
    expect(await greeted(await secure(denyByMethod.port, intruder))).toBe(true);
  });

  it('refuses every connection to a service whose JwtPolicy asks for a token', async () => {
    const app = await started(greetingApp('tokens'));
    const snapshots = new TestSnapshots();
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    snapshots.setKindPolicy('JwtPolicy', { service: 'db', providers: [{ name: 'idp', issuer: 'https://idp.test', audiences: ['db'], jwks: { keys: [jwk] } }] });
    const { port, runtime } = await inbound(app, { mtls: meshTls('strict', db), snapshots });
    const client = await secure(port, frontend);
    await client.waitClosed();
    expect(client.bytes()).toBe(0);
    expect(await refusals(runtime, 'unauthenticated')).toBe(1);
  });
});
