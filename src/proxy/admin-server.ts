// Proxy: the sidecar's admin listener — /metrics, /ready, /snapshot, /certs and /healthz for operators and orchestrators.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Runtime } from '../core/index.js';
import { snapshotToJSON, type SnapshotSource } from '../model/index.js';
import { ADMIN_LISTENER_LIMIT_DEFAULTS, ListenerGuard, type ListenerLimits } from '../listener/index.js';

export interface Readiness {
  readonly ready: boolean;
  readonly reason?: string;
}

export interface AdminServerOptions {
  runtime: Runtime;
  snapshots: SnapshotSource;
  /** Asked on every GET /ready, so it reflects the sidecar's state at that moment. */
  ready: () => Readiness;
  /** The workload certificate's facts for GET /certs (null while none is held); absent: no such route. */
  certs?: () => unknown;
  /** Timeouts and the connection cap of the listener; default ADMIN_LISTENER_LIMIT_DEFAULTS. */
  limits?: ListenerLimits;
}

export interface AdminServer {
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
}

const ROUTES = new Set(['/metrics', '/ready', '/snapshot', '/certs', '/healthz']);

export function createAdminServer(options: AdminServerOptions): AdminServer {
  const { runtime, snapshots, ready } = options;

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (!ROUTES.has(path) || (path === '/certs' && options.certs === undefined)) {
      sendJson(res, 404, { code: 'NOT_FOUND', message: `no admin route ${path}; try /metrics, /ready, /snapshot, ${options.certs ? '/certs, ' : ''}/healthz` });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, 405, { code: 'METHOD_NOT_ALLOWED', message: `${req.method ?? ''} is not allowed on ${path}; allowed: GET, HEAD` });
      return;
    }
    switch (path) {
      case '/metrics': {
        const text = await runtime.metrics.metrics();
        send(res, 200, runtime.metrics.contentType, text);
        return;
      }
      case '/ready': {
        const state = ready();
        if (state.ready) sendJson(res, 200, { ready: true });
        else sendJson(res, 503, { ready: false, reason: state.reason ?? 'not ready' });
        return;
      }
      case '/snapshot':
        sendJson(res, 200, snapshotToJSON(snapshots.current()));
        return;
      case '/healthz':
        sendJson(res, 200, { status: 'ok' });
        return;
      case '/certs': {
        const info = options.certs?.() ?? null;
        if (info === null) sendJson(res, 503, { code: 'NO_CERTIFICATE', message: 'no workload certificate is held yet' });
        else sendJson(res, 200, info);
        return;
      }
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      runtime.logger.error({ err, url: req.url }, 'admin request failed');
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { code: 'INTERNAL', message: 'internal error' });
    });
  });
  new ListenerGuard({ name: 'admin', limits: options.limits ?? ADMIN_LISTENER_LIMIT_DEFAULTS, metrics: runtime.metrics, logger: runtime.logger.child({ listener: 'admin' }) }).protect(server);

  return {
    listen(host: string, port: number) {
      return new Promise((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          const address = server.address() as AddressInfo;
          runtime.logger.info({ host: address.address, port: address.port }, 'admin listening');
          resolve({ host: address.address, port: address.port });
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

function send(res: http.ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
