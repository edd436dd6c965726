// Test helper: a second "replica" of a control plane — a real reverse proxy on its own port that serves the same state,
// and can be killed (listener closed, every connection cut) like a dead control-plane process.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReplicaProxy {
  readonly url: string;
  /** "METHOD /path?query" of every request received. */
  readonly requests: string[];
  kill(): Promise<void>;
}

export async function startReplicaProxy(target: string): Promise<ReplicaProxy> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const upstream = new http.Agent({ keepAlive: false });
  const server = http.createServer((req, res) => {
    requests.push(`${req.method ?? 'GET'} ${req.url ?? '/'}`);
    const forward = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers, agent: upstream }, (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      // Streams (the watch) must pass through as they come, not when they end.
      res.flushHeaders();
      reply.pipe(res);
      res.on('close', () => reply.destroy());
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let killed: Promise<void> | undefined;
  return {
    url,
    requests,
    kill: () =>
      (killed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        upstream.destroy();
      })),
  };
}
