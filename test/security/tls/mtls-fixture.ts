// Test support: mTLS listeners on 127.0.0.1 answering with the caller's SPIFFE id, and clients for them.
import { request as plainRequest } from 'node:http';
import { request as secureRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Connector } from '../../../src/transport/connector.js';
import {
  MtlsListener,
  mtlsConnectionOptions,
  peerSpiffeId,
  type MtlsMode,
  type WorkloadIdentity,
} from '../../../src/security/tls/index.js';

export const PLAINTEXT_CALLER = 'plaintext';

export interface Reply {
  status: number;
  body: string;
}

/** A listener whose app answers 200 with the caller's SPIFFE id (or "plaintext"). */
export async function startListener(mode: MtlsMode, identity: WorkloadIdentity | null): Promise<{ listener: MtlsListener; port: number }> {
  const listener = new MtlsListener({
    mode,
    identity,
    onRequest: (req, res) => {
      req.resume();
      res.end(peerSpiffeId(req.socket) ?? PLAINTEXT_CALLER);
    },
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  return { listener, port: listener.address()?.port ?? 0 };
}

export function closeListener(listener: MtlsListener): Promise<void> {
  listener.closeAllConnections();
  return new Promise((resolve) => listener.close(() => resolve()));
}

/** Runs `use` against a fresh listener and closes it afterwards, whatever happened. */
export async function withListener(
  mode: MtlsMode,
  identity: WorkloadIdentity | null,
  use: (listener: MtlsListener, port: number) => Promise<void>,
): Promise<void> {
  const { listener, port } = await startListener(mode, identity);
  try {
    await use(listener, port);
  } finally {
    await closeListener(listener);
  }
}

function collect(res: import('node:http').IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    res.on('error', reject);
  });
}

/** One plaintext GET on a fresh connection. */
export function plainGet(port: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = plainRequest({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5_000 }, (res) => collect(res).then(resolve, reject));
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** One mTLS GET on a fresh connection with `identity`, expecting `expectedSpiffeId` on the other side. */
export function mtlsGet(port: number, identity: WorkloadIdentity, expectedSpiffeId: string, extra: Record<string, unknown> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = secureRequest(
      { host: '127.0.0.1', port, path: '/', agent: false, timeout: 5_000, ...mtlsConnectionOptions(identity, { expectedSpiffeId }), ...extra },
      (res) => collect(res).then(resolve, reject),
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Runs a connector once: the connected TLS socket, or the error it failed with. */
export function connectOnce(connector: Connector, port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    connector({ host: '127.0.0.1', port }, (err, socket) => {
      if (err !== null) reject(err);
      else resolve(socket as TLSSocket);
    });
  });
}
