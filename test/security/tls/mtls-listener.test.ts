// Tests: mTLS handshakes on 127.0.0.1 between real node:tls peers and openssl s_client: who is let in, who is refused, by mode.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as plainRequest } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MtlsListener,
  mtlsConnector,
  PeerIdentityMismatchError,
  PeerUntrustedError,
  WorkloadIdentity,
} from '../../../src/security/tls/index.js';
import { formatSpiffeId, spiffeId } from '../../../src/security/identity.js';
import { closeListener, connectOnce, mtlsGet, PLAINTEXT_CALLER, plainGet, startListener, withListener } from './mtls-fixture.js';
import { createRoot, expiredLeaf, issueLeaf, materialOf, type TestLeaf, type TestRoot } from './test-pki.js';

const FRONTEND = formatSpiffeId(spiffeId('weft.test', 'frontend'));
const API = formatSpiffeId(spiffeId('weft.test', 'api'));

let root: TestRoot;
let otherRoot: TestRoot;
let apiIdentity: WorkloadIdentity;
let frontend: WorkloadIdentity;
let frontendLeaf: TestLeaf;
let strict: { listener: MtlsListener; port: number };
let dir: string;

beforeAll(async () => {
  root = await createRoot('weft test root');
  otherRoot = await createRoot('someone else');
  apiIdentity = new WorkloadIdentity(materialOf(await issueLeaf(root, API), root));
  frontendLeaf = await issueLeaf(root, FRONTEND);
  frontend = new WorkloadIdentity(materialOf(frontendLeaf, root));
  strict = await startListener('strict', apiIdentity);
  dir = mkdtempSync(join(tmpdir(), 'weft-mtls-'));
});

afterAll(async () => {
  await closeListener(strict.listener);
  rmSync(dir, { recursive: true, force: true });
});

/** Connects with a plain TCP socket, sends an HTTP request, and resolves with what came back before the server closed. */
function rawPlaintext(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the server neither answered nor closed within 5 s'));
    }, 5_000);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write('GET / HTTP/1.1\r\nHost: api\r\n\r\n');
  });
}

interface OpensslResult {
  exitCode: number;
  stdout: string;
}

/** openssl s_client as an outside client: one GET with Connection: close, bounded to 10 s. */
function opensslGet(port: number, args: readonly string[]): Promise<OpensslResult> {
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-ign_eof', '-verify_return_error', ...args],
      { timeout: 10_000 },
      (err, stdout) => resolve({ exitCode: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout }),
    );
    child.stdin?.end('GET / HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n');
  });
}

function pemFiles(name: string, leaf: TestLeaf | null, trusted: TestRoot): string[] {
  const ca = join(dir, `${name}-ca.pem`);
  writeFileSync(ca, trusted.certPem);
  if (leaf === null) return ['-CAfile', ca];
  const cert = join(dir, `${name}-cert.pem`);
  const key = join(dir, `${name}-key.pem`);
  writeFileSync(cert, leaf.certPem);
  writeFileSync(key, leaf.keyPem, { mode: 0o600 });
  return ['-CAfile', ca, '-cert', cert, '-key', key];
}

describe('strict inbound', () => {
  it('serves a caller with a valid certificate and tells the app who called', async () => {
    const reply = await mtlsGet(strict.port, frontend, API);
    expect(reply).toEqual({ status: 200, body: FRONTEND });
  });

  it('refuses a client certificate from another CA', async () => {
    const before = strict.listener.refusals.handshake;
    const stranger = new WorkloadIdentity(materialOf(await issueLeaf(otherRoot, FRONTEND), root));
    await expect(mtlsGet(strict.port, stranger, API)).rejects.toThrow();
    expect(strict.listener.refusals.handshake).toBe(before + 1);
  });

  it('refuses an expired client certificate', async () => {
    const before = strict.listener.refusals.handshake;
    const expired = new WorkloadIdentity(materialOf(await expiredLeaf(root, FRONTEND), root));
    expect(expired.expired()).toBe(true);
    await expect(mtlsGet(strict.port, expired, API)).rejects.toThrow();
    expect(strict.listener.refusals.handshake).toBe(before + 1);
  });

  it('closes a plaintext connection without an answer', async () => {
    const before = strict.listener.refusals.plaintext;
    expect(await rawPlaintext(strict.port)).toBe('');
    expect(strict.listener.refusals.plaintext).toBe(before + 1);
  });

  it('refuses a TLS 1.2 client', async () => {
    const before = strict.listener.refusals.handshake;
    // A context of its own: the identity's context is pinned to TLS 1.3 and would override these bounds.
    const tls12 = { secureContext: undefined, key: frontendLeaf.keyPem, cert: frontendLeaf.certPem, ca: root.certPem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' };
    await expect(mtlsGet(strict.port, frontend, API, tls12)).rejects.toThrow(/version|protocol/i);
    expect(strict.listener.refusals.handshake).toBe(before + 1);
    // The same certificates over TLS 1.3 are fine, so the version alone was refused.
    expect((await mtlsGet(strict.port, frontend, API, { ...tls12, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' })).status).toBe(200);
  });

  it('answers openssl s_client with a valid certificate over TLS 1.3 and refuses it over TLS 1.2 or without a certificate', async () => {
    const good = await opensslGet(strict.port, ['-tls1_3', ...pemFiles('good', frontendLeaf, root)]);
    expect(good.stdout).toContain('HTTP/1.1 200');
    expect(good.stdout).toContain(FRONTEND);

    const tls12 = await opensslGet(strict.port, ['-tls1_2', ...pemFiles('tls12', frontendLeaf, root)]);
    expect(tls12.stdout).not.toContain('HTTP/1.1');
    expect(tls12.exitCode).not.toBe(0);

    const anonymous = await opensslGet(strict.port, ['-tls1_3', ...pemFiles('anonymous', null, root)]);
    expect(anonymous.stdout).not.toContain('HTTP/1.1');
  });
});

describe('outbound connector', () => {
  it('connects to the instance that proves the expected SPIFFE id', async () => {
    const socket = await connectOnce(mtlsConnector({ identity: frontend, expectedSpiffeId: API }), strict.port);
    expect(socket.alpnProtocol).toBe('http/1.1');
    expect(socket.getProtocol()).toBe('TLSv1.3');
    socket.destroy();
  });

  it('refuses a server whose certificate names another workload', async () => {
    const wrong = formatSpiffeId(spiffeId('weft.test', 'payments'));
    const failure = connectOnce(mtlsConnector({ identity: frontend, expectedSpiffeId: wrong }), strict.port);
    await expect(failure).rejects.toBeInstanceOf(PeerIdentityMismatchError);
    await expect(failure).rejects.toMatchObject({ code: 'PEER_IDENTITY_MISMATCH', details: { expected: wrong, actual: API } });
  });

  it('refuses a server certificate from another CA', async () => {
    const impostor = new WorkloadIdentity(materialOf(await issueLeaf(otherRoot, API), otherRoot, root));
    await withListener('strict', impostor, async (_listener, port) => {
      const failure = connectOnce(mtlsConnector({ identity: frontend, expectedSpiffeId: API }), port);
      await expect(failure).rejects.toBeInstanceOf(PeerUntrustedError);
      await expect(failure).rejects.toMatchObject({ code: 'PEER_UNTRUSTED' });
    });
  });

  it('refuses an expired server certificate', async () => {
    const stale = new WorkloadIdentity(materialOf(await expiredLeaf(root, API), root));
    await withListener('strict', stale, async (_listener, port) => {
      const failure = connectOnce(mtlsConnector({ identity: frontend, expectedSpiffeId: API }), port);
      await expect(failure).rejects.toMatchObject({ code: 'PEER_UNTRUSTED', reason: 'CERT_HAS_EXPIRED' });
    });
  });
});

describe('permissive inbound', () => {
  it('serves plaintext and mTLS on one port, knowing the caller only over mTLS', async () => {
    await withListener('permissive', apiIdentity, async (listener, port) => {
      expect(await plainGet(port)).toEqual({ status: 200, body: PLAINTEXT_CALLER });
      expect(await mtlsGet(port, frontend, API)).toEqual({ status: 200, body: FRONTEND });
      expect(await plainGet(port)).toEqual({ status: 200, body: PLAINTEXT_CALLER });
      expect(listener.refusals).toEqual({ plaintext: 0, handshake: 0 });
    });
  });

  it('still refuses an untrusted client certificate', async () => {
    const stranger = new WorkloadIdentity(materialOf(await issueLeaf(otherRoot, FRONTEND), root));
    await withListener('permissive', apiIdentity, async (listener, port) => {
      await expect(mtlsGet(port, stranger, API)).rejects.toThrow();
      expect(listener.refusals.handshake).toBe(1);
    });
  });
});

describe('connection handling', () => {
  it('keeps a sniffed plaintext connection alive across requests, bodies included', async () => {
    const echo = new MtlsListener({
      mode: 'permissive',
      identity: apiIdentity,
      onRequest: (req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => (body += chunk));
        req.on('end', () => res.end(`${req.method} ${body.length}`));
      },
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    try {
      const port = echo.address()?.port ?? 0;
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const sockets = new Set<unknown>();
      const send = (method: string, body: string): Promise<string> =>
        new Promise((resolve, reject) => {
          const req = plainRequest({ host: '127.0.0.1', port, method, path: '/', agent, timeout: 5_000 }, (res) => {
            sockets.add(res.socket);
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve(text));
          });
          req.on('timeout', () => req.destroy(new Error('timed out')));
          req.on('error', reject);
          req.end(body);
        });
      expect(await send('POST', 'x'.repeat(200_000))).toBe('POST 200000');
      expect(await send('GET', '')).toBe('GET 0');
      expect(await send('PUT', 'abc')).toBe('PUT 3');
      expect(sockets.size).toBe(1);
      agent.destroy();
    } finally {
      await closeListener(echo);
    }
  });

  it('closes a connection that sends nothing within the handshake timeout', async () => {
    const quiet = new MtlsListener({ mode: 'strict', identity: apiIdentity, handshakeTimeoutMs: 200, onRequest: (_req, res) => res.end() });
    await new Promise<void>((resolve) => quiet.listen(0, '127.0.0.1', resolve));
    try {
      const socket = netConnect(quiet.address()?.port ?? 0, '127.0.0.1');
      const closed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 5_000);
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      expect(closed).toBe(true);
      expect(quiet.refusals.handshake).toBe(1);
    } finally {
      await closeListener(quiet);
    }
  });

  it('closes idle keep-alive mTLS connections when asked, so closing the port completes', async () => {
    const { listener, port } = await startListener('strict', apiIdentity);
    const agent = new HttpsAgent({ keepAlive: true });
    expect((await mtlsGet(port, frontend, API, { agent })).status).toBe(200);
    const closed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5_000);
      listener.close(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    listener.closeIdleConnections();
    expect(await closed).toBe(true);
    agent.destroy();
  });
});

describe('disabled inbound', () => {
  it('serves plaintext only', async () => {
    await withListener('disabled', null, async (_listener, port) => {
      expect(await plainGet(port)).toEqual({ status: 200, body: PLAINTEXT_CALLER });
      await expect(mtlsGet(port, frontend, API)).rejects.toThrow();
    });
  });
});

describe('mode changes at run time', () => {
  it('a strict listener without an identity refuses everything until it gets one, then serves mTLS', async () => {
    await withListener('strict', null, async (listener, port) => {
      expect(listener.hasIdentity).toBe(false);
      await expect(mtlsGet(port, frontend, API)).rejects.toThrow();
      expect(listener.refusals.handshake).toBe(1);
      expect(await rawPlaintext(port)).toBe('');
      expect(listener.refusals.plaintext).toBe(1);
      listener.setIdentity(apiIdentity);
      expect(await mtlsGet(port, frontend, API)).toEqual({ status: 200, body: FRONTEND });
      expect(() => listener.setIdentity(apiIdentity)).toThrow(/already has an identity/);
    });
  });

  it('switches strict → permissive → disabled → strict on one open port, each new connection in the mode of the moment', async () => {
    await withListener('strict', apiIdentity, async (listener, port) => {
      expect(await rawPlaintext(port)).toBe('');
      expect(await mtlsGet(port, frontend, API)).toEqual({ status: 200, body: FRONTEND });

      listener.setMode('permissive');
      expect(listener.mode).toBe('permissive');
      expect(await plainGet(port)).toEqual({ status: 200, body: PLAINTEXT_CALLER });
      expect(await mtlsGet(port, frontend, API)).toEqual({ status: 200, body: FRONTEND });

      listener.setMode('disabled');
      expect(await plainGet(port)).toEqual({ status: 200, body: PLAINTEXT_CALLER });
      await expect(mtlsGet(port, frontend, API)).rejects.toThrow();

      listener.setMode('strict');
      const refused = listener.refusals.plaintext;
      expect(await rawPlaintext(port)).toBe('');
      expect(listener.refusals.plaintext).toBe(refused + 1);
      expect(await mtlsGet(port, frontend, API)).toEqual({ status: 200, body: FRONTEND });
    });
  });

  it('keeps an open plaintext keep-alive connection when the port turns strict; new plaintext connections are refused', async () => {
    await withListener('permissive', apiIdentity, async (listener, port) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const get = () =>
          new Promise<number>((resolve, reject) => {
            const req = plainRequest({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            });
            req.on('error', reject);
            req.end();
          });
        expect(await get()).toBe(200);
        listener.setMode('strict');
        expect(await get()).toBe(200);
        expect(await rawPlaintext(port)).toBe('');
      } finally {
        agent.destroy();
      }
    });
  });
});
