// Test fixtures for the proxy: real upstream servers on free ports, a settable snapshot source, a quiet runtime, a client.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { seededRng, systemClock, type Runtime } from '../../src/core/index.js';
import { snapshotFromInstances, type Instance, type Snapshot, type SnapshotSource } from '../../src/model/index.js';

export function quietRuntime(seed = 1): Runtime {
  return { clock: systemClock, rng: seededRng(seed), logger: pino({ level: 'silent' }), metrics: new Registry() };
}

export function instance(id: string, port: number, options: Partial<Instance> = {}): Instance {
  return { id, service: 'greeter', host: '127.0.0.1', port, weight: 1, protocol: 'http1', meta: {}, tags: [], ttlMs: 10_000, health: 'passing', ...options };
}

export interface SettableSnapshots extends SnapshotSource {
  set(instances: Instance[]): void;
}

export function snapshotsOf(instances: Instance[]): SettableSnapshots {
  let version = 1;
  let current: Snapshot = snapshotFromInstances(version, instances);
  const listeners = new Set<(s: Snapshot) => void>();
  return {
    current: () => current,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(next) {
      current = snapshotFromInstances(++version, next);
      for (const listener of listeners) listener(current);
    },
  };
}

export interface TestServer {
  readonly port: number;
  readonly server: http.Server;
  close(): Promise<void>;
}

/** A real node:http server on 127.0.0.1 and a free port; close() also ends its open connections. */
export async function startServer(handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An upstream that answers with its own name, the path, and the request body it read. */
export function namedUpstream(name: string): Promise<TestServer> {
  return startServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': name });
      res.end(`${name} ${req.method} ${req.url} ${body}`);
    });
  });
}

/** A port on which nothing listens: bound once, then closed. */
export async function closedPort(): Promise<number> {
  const s = await startServer(() => {});
  await s.close();
  return s.port;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function send(port: number, options: { host?: string; path?: string; method?: string; body?: string | Buffer; headers?: http.OutgoingHttpHeaders; agent?: http.Agent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/',
        method: options.method ?? 'GET',
        agent: options.agent ?? false,
        headers: { host: options.host ?? 'greeter', ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Polls until the check passes or the deadline is reached; bounded in count and time. */
export async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  if (!check()) throw new Error('condition not met before the deadline');
}
