// Tests: the inbound caller as mTLS proves it — a SPIFFE id of our trust domain is an authenticated service; anything else falls back to the claim.
import { request as plainRequest } from 'node:http';
import { request as secureRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MtlsPeers, type PeerIdentity } from '../../../src/security/authz/index.js';
import { formatSpiffeId, spiffeId } from '../../../src/security/identity.js';
import { MtlsListener, mtlsConnectionOptions, WorkloadIdentity } from '../../../src/security/tls/index.js';
import { closeListener } from '../tls/mtls-fixture.js';
import { createRoot, issueLeaf, materialOf, type TestRoot } from '../tls/test-pki.js';

const API = formatSpiffeId(spiffeId('weft.test', 'api'));
const FRONTEND = formatSpiffeId(spiffeId('weft.test', 'frontend'));
const FOREIGN = formatSpiffeId(spiffeId('elsewhere.test', 'frontend'));

let root: TestRoot;
let listener: MtlsListener;
let port: number;
let frontend: WorkloadIdentity;
let foreign: WorkloadIdentity;
const peers = new MtlsPeers(() => 'weft.test');

beforeAll(async () => {
  root = await createRoot('root');
  const api = new WorkloadIdentity(materialOf(await issueLeaf(root, API), root));
  frontend = new WorkloadIdentity(materialOf(await issueLeaf(root, FRONTEND), root));
  foreign = new WorkloadIdentity(materialOf(await issueLeaf(root, FOREIGN), root));
  listener = new MtlsListener({
    mode: 'permissive',
    identity: api,
    onRequest: (req, res) => {
      req.resume();
      const source = req.headers['x-weft-source'];
      res.end(JSON.stringify(peers.identify(req.socket, typeof source === 'string' ? source : undefined)));
    },
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = listener.address()!.port;
});

afterAll(() => closeListener(listener));

function ask(identity: WorkloadIdentity | null, source?: string): Promise<PeerIdentity> {
  return new Promise((resolve, reject) => {
    const headers = source === undefined ? {} : { 'x-weft-source': source };
    const options = { host: '127.0.0.1', port, path: '/', agent: false as const, headers };
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(JSON.parse(body) as PeerIdentity));
    };
    const req = identity === null ? plainRequest(options, onResponse) : secureRequest({ ...options, ...mtlsConnectionOptions(identity, { expectedSpiffeId: API }) }, onResponse);
    req.on('error', reject);
    req.end();
  });
}

describe('MtlsPeers', () => {
  it('a caller proving a SPIFFE id of our trust domain is that service, authenticated, whatever it claims', async () => {
    expect(await ask(frontend)).toEqual({ service: 'frontend', spiffeId: FRONTEND, authenticated: true });
    expect(await ask(frontend, 'admin')).toEqual({ service: 'frontend', spiffeId: FRONTEND, authenticated: true });
  });

  it('a plaintext caller is its claim, unauthenticated', async () => {
    expect(await ask(null, 'frontend')).toEqual({ service: 'frontend', authenticated: false });
    expect(await ask(null)).toEqual({ authenticated: false });
  });

  it('an id of another trust domain proves nothing here: the claim stands, unauthenticated', async () => {
    expect(await ask(foreign, 'frontend')).toEqual({ service: 'frontend', authenticated: false });
  });

  it('reads the trust domain per request, and shares one identity object per proven id', () => {
    let domain = '';
    const later = new MtlsPeers(() => domain);
    expect(later.ofSpiffeId(FRONTEND)).toBeNull();
    domain = 'weft.test';
    const first = later.ofSpiffeId(FRONTEND);
    expect(first).toEqual({ service: 'frontend', spiffeId: FRONTEND, authenticated: true });
    expect(later.ofSpiffeId(FRONTEND)).toBe(first);
    expect(later.ofSpiffeId('spiffe://weft.test/not-a-service')).toBeNull();
  });
});
