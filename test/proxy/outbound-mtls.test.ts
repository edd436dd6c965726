// Tests: outbound mTLS on real sockets — pools dial TLS with the onSocket hook kept, the peer's identity is checked (502 PEER_IDENTITY_MISMATCH, another endpoint tried), and the mode switches live.
import net, { type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { endpointFromInstance, parsePolicy, snapshotFromInstances, type Snapshot, type SnapshotSource } from '../../src/model/index.js';
import { MeshTls } from '../../src/security/tls/index.js';
import { createOutboundServer } from '../../src/proxy/outbound-server.js';
import { formatSpiffeId, spiffeId } from '../../src/security/identity.js';
import { MtlsListener, mtlsConnector, peerSpiffeId, WorkloadIdentity, type MtlsMode } from '../../src/security/tls/index.js';
import { systemClock } from '../../src/core/index.js';
import { EndpointPool } from '../../src/transport/index.js';
import { meshRequest, RecordingHandler } from '../support/request-path-kit.js';
import { closeListener } from '../security/tls/mtls-fixture.js';
import { createRoot, issueLeaf, materialOf, type TestRoot } from '../security/tls/test-pki.js';
import { instance, quietRuntime, send, snapshotsOf } from './request-path-fixtures.js';

const id = (service: string): string => formatSpiffeId(spiffeId('weft.test', service));

let root: TestRoot;
let frontend: WorkloadIdentity;
let greeter: WorkloadIdentity;
let payments: WorkloadIdentity;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  root = await createRoot('root');
  frontend = new WorkloadIdentity(materialOf(await issueLeaf(root, id('frontend')), root));
  greeter = new WorkloadIdentity(materialOf(await issueLeaf(root, id('greeter')), root));
  payments = new WorkloadIdentity(materialOf(await issueLeaf(root, id('payments')), root));
});
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A peer sidecar's inbound port answering with its name and the caller's proven id (or "plaintext"). */
async function peer(name: string, mode: MtlsMode, identity: WorkloadIdentity): Promise<number> {
  const listener = new MtlsListener({
    mode,
    identity,
    onRequest: (req, res) => {
      req.resume();
      res.end(`${name} ${peerSpiffeId(req.socket) ?? 'plaintext'}`);
    },
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => closeListener(listener));
  return listener.address()!.port;
}

async function outbound(mesh: MeshTls, ports: number[]): Promise<number> {
  const snapshots = snapshotsOf(ports.map((port, i) => instance(`greeter-${i}`, port)));
  const proxy = createOutboundServer({ runtime: quietRuntime(), snapshots, localService: 'frontend', mtls: mesh });
  const { port } = await proxy.listen('127.0.0.1', 0);
  cleanups.push(() => proxy.close(0));
  return port;
}

function meshWith(mode: MtlsMode): MeshTls {
  const mesh = new MeshTls({ connectTimeoutMs: 1_000 });
  mesh.setMesh({ trustDomain: 'weft.test', mtlsDefault: mode });
  mesh.setIdentity(frontend);
  return mesh;
}

describe('endpoint pool with an mTLS connector', () => {
  it('opens TLS connections through the given connector and still tells onSocket of each', async () => {
    const port = await peer('greeter', 'strict', greeter);
    const seen: Socket[] = [];
    const endpoint = endpointFromInstance(instance('greeter-0', port));
    const pool = new EndpointPool(endpoint, { connect: mtlsConnector({ identity: frontend, expectedSpiffeId: id('greeter') }), onSocket: (socket) => seen.push(socket) });
    cleanups.push(async () => pool.destroy());
    const handler = new RecordingHandler();
    pool.dispatch(meshRequest({ clock: systemClock, headers: { host: 'greeter' } }), handler);
    await handler.done;
    expect(handler.trace).toEqual(['start 200', 'data', 'end']);
    expect(handler.body).toBe(`greeter ${id('frontend')}`);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(TLSSocket);
    expect((seen[0] as TLSSocket).getProtocol()).toBe('TLSv1.3');
  });
});

describe('outbound mTLS', () => {
  it('calls a strict peer over mTLS, proving our identity', async () => {
    const port = await outbound(meshWith('strict'), [await peer('a', 'strict', greeter)]);
    const reply = await send(port);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe(`a ${id('frontend')}`);
  });

  it('answers 502 PEER_IDENTITY_MISMATCH when the only endpoint proves another identity, and counts it', async () => {
    const mesh = meshWith('strict');
    const port = await outbound(mesh, [await peer('impostor', 'strict', payments)]);
    const reply = await send(port);
    expect(reply.status).toBe(502);
    expect(reply.headers['x-weft-error']).toBe('PEER_IDENTITY_MISMATCH');
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'PEER_IDENTITY_MISMATCH' });
    expect(mesh.outboundFailures.peer_identity_mismatch).toBeGreaterThanOrEqual(1);
  });

  it('answers 502 PEER_UNTRUSTED for a peer whose certificate another CA signed', async () => {
    const stranger = await createRoot('stranger');
    const untrusted = new WorkloadIdentity(materialOf(await issueLeaf(stranger, id('greeter')), stranger, root));
    const mesh = meshWith('strict');
    const port = await outbound(mesh, [await peer('stranger', 'strict', untrusted)]);
    const reply = await send(port);
    expect(reply.status).toBe(502);
    expect(reply.headers['x-weft-error']).toBe('PEER_UNTRUSTED');
    expect(mesh.outboundFailures.peer_untrusted).toBeGreaterThanOrEqual(1);
  });

  it('retries a refused handshake on another endpoint: every request succeeds', async () => {
    const port = await outbound(meshWith('strict'), [await peer('impostor', 'strict', payments), await peer('good', 'strict', greeter)]);
    for (let i = 0; i < 6; i++) {
      const reply = await send(port);
      expect(reply.status).toBe(200);
      expect(reply.body).toBe(`good ${id('frontend')}`);
    }
  });

  it('dials in plaintext while the mode is disabled and with mTLS once the mesh default turns strict, on the same upstream', async () => {
    const mesh = meshWith('disabled');
    const port = await outbound(mesh, [await peer('p', 'permissive', greeter)]);
    expect((await send(port)).body).toBe('p plaintext');
    mesh.setMesh({ trustDomain: 'weft.test', mtlsDefault: 'strict' });
    expect((await send(port)).body).toBe(`p ${id('frontend')}`);
  });

  it('dials in plaintext until an identity is held', async () => {
    const mesh = new MeshTls({ connectTimeoutMs: 1_000 });
    mesh.setMesh({ trustDomain: 'weft.test', mtlsDefault: 'permissive' });
    const port = await outbound(mesh, [await peer('p', 'permissive', greeter)]);
    expect((await send(port)).body).toBe('p plaintext');
    mesh.setIdentity(frontend);
    expect((await send(port)).body).toBe(`p ${id('frontend')}`);
  });

  it('never dials a strict service in plaintext before the first certificate: 503 CONNECT_FAILED, and no byte reaches the peer', async () => {
    let connections = 0;
    const server = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const target = (server.address() as net.AddressInfo).port;
    // The mesh not known yet: its default is taken as strict.
    const mesh = new MeshTls({ connectTimeoutMs: 1_000 });
    const port = await outbound(mesh, [target, await peer('p', 'strict', greeter)]);
    const refused = await send(port);
    expect(refused.status).toBe(503);
    expect(refused.headers['x-weft-error']).toBe('CONNECT_FAILED');
    expect(connections).toBe(0);
    mesh.setMesh({ trustDomain: 'weft.test', mtlsDefault: 'strict' });
    mesh.setIdentity(frontend);
    // Over mTLS now: the port that cuts every connection fails its handshake, and the call is retried on the peer.
    for (let i = 0; i < 4; i++) expect((await send(port)).body).toBe(`p ${id('frontend')}`);
    expect(connections).toBeGreaterThan(0);
  });

  it('follows the destination\'s policy over the mesh default, rebuilding its pools when the policy\'s mtls changes', async () => {
    const port = await peer('p', 'permissive', greeter);
    const instances = [instance('greeter-0', port)];
    let current: Snapshot = snapshotFromInstances(1, instances, new Map([['greeter', parsePolicy({ service: 'greeter', mtls: 'disabled' })]]));
    const listeners = new Set<(snapshot: Snapshot) => void>();
    const snapshots: SnapshotSource = {
      current: () => current,
      subscribe: (listener) => (listeners.add(listener), () => listeners.delete(listener)),
    };
    const proxy = createOutboundServer({ runtime: quietRuntime(), snapshots, localService: 'frontend', mtls: meshWith('strict') });
    const { port: outboundPort } = await proxy.listen('127.0.0.1', 0);
    cleanups.push(() => proxy.close(0));
    expect((await send(outboundPort)).body).toBe('p plaintext');
    current = snapshotFromInstances(2, instances, new Map([['greeter', parsePolicy({ service: 'greeter', mtls: 'permissive' })]]));
    for (const listener of listeners) listener(current);
    expect((await send(outboundPort)).body).toBe(`p ${id('frontend')}`);
    current = snapshotFromInstances(3, instances);
    for (const listener of listeners) listener(current);
    // No policy: the mesh default (strict) applies.
    expect((await send(outboundPort)).body).toBe(`p ${id('frontend')}`);
  });
});
