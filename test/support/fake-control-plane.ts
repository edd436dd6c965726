// Test support: a small real HTTP server speaking the control plane's REST + NDJSON watch protocol, with hooks to misbehave.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isWeftError } from '../../src/core/index.js';
import {
  API_PREFIX,
  WATCH_CONTENT_TYPE,
  heartbeatSchema,
  instanceRegistrationSchema,
  parseOrThrow,
  type Instance,
  type WatchEvent,
} from '../../src/model/index.js';

export interface FakeControlPlaneOptions {
  pingIntervalMs?: number;
  /** Defaults to 0 (a free port); set to restart a server where a client expects it. */
  port?: number;
}

export interface FakeControlPlane {
  readonly url: string;
  readonly port: number;
  /** Every request seen, as "METHOD /path?query". */
  readonly requests: string[];
  /** The `since` parameter of every watch request (undefined when absent). */
  readonly watchSinces: (number | undefined)[];
  version(): number;
  instances(): Instance[];
  upsert(instance: Instance): void;
  remove(id: string): void;
  /** Destroys every open watch stream (the server keeps running). */
  dropWatchers(): void;
  /** Writes raw text to every open watch stream, bypassing the protocol. */
  writeRaw(text: string): void;
  /** While true, watch streams get neither events nor pings (a black-holed connection). */
  silent: boolean;
  /** Splits every event line into pieces of this many bytes, each written separately. */
  chunkBytes: number | undefined;
  /** When set, every request is answered with this status and JSON body. */
  failWith: { status: number; body: unknown } | undefined;
  watcherCount(): number;
  close(): Promise<void>;
}

export async function startFakeControlPlane(options: FakeControlPlaneOptions = {}): Promise<FakeControlPlane> {
  const store = new Map<string, Instance>();
  const log: WatchEvent[] = [];
  let version = 0;
  const watchers = new Set<http.ServerResponse>();
  const requests: string[] = [];
  const watchSinces: (number | undefined)[] = [];

  const send = (res: http.ServerResponse, event: WatchEvent): void => {
    if (fake.silent) return;
    const line = `${JSON.stringify(event)}\n`;
    const size = fake.chunkBytes;
    if (!size) {
      res.write(line);
      return;
    }
    const bytes = Buffer.from(line);
    for (let i = 0; i < bytes.length; i += size) res.write(bytes.subarray(i, i + size));
  };
  const emit = (event: WatchEvent): void => {
    log.push(event);
    for (const res of watchers) send(res, event);
  };
  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    const payload = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  };
  const notFound = (res: http.ServerResponse, what: string): void => json(res, 404, { code: 'NOT_FOUND', message: `${what} not found` });

  const readBody = (req: http.IncomingMessage): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', reject);
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve(text ? JSON.parse(text) : {});
        } catch {
          reject(new Error('body is not JSON'));
        }
      });
    });

  const upsert = (instance: Instance): void => {
    store.set(instance.id, instance);
    emit({ type: 'upsert', version: ++version, instance });
  };
  const remove = (id: string): void => {
    const existing = store.get(id);
    if (!existing) return;
    store.delete(id);
    emit({ type: 'remove', version: ++version, id, service: existing.service });
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const path = url.pathname.startsWith(API_PREFIX) ? url.pathname.slice(API_PREFIX.length) : '';
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (fake.failWith) return json(res, fake.failWith.status, fake.failWith.body);

    if (req.method === 'GET' && path === '/watch') {
      const raw = url.searchParams.get('since');
      const since = raw === null ? undefined : Number(raw);
      watchSinces.push(since);
      res.writeHead(200, { 'content-type': WATCH_CONTENT_TYPE, 'cache-control': 'no-cache' });
      res.flushHeaders();
      watchers.add(res);
      res.on('close', () => watchers.delete(res));
      if (since !== undefined && since <= version) {
        for (const event of log) if (event.version > since) send(res, event);
      } else {
        send(res, { type: 'reset', version, instances: [...store.values()] });
      }
      return;
    }
    if (parts[0] === 'instances' && parts[1] && parts.length <= 3) {
      const id = parts[1];
      if (req.method === 'PUT' && parts.length === 2) {
        const reg = parseOrThrow(instanceRegistrationSchema, await readBody(req));
        const existed = store.has(id);
        const instance: Instance = { ...reg, id, health: 'passing' };
        upsert(instance);
        json(res, existed ? 200 : 201, { version, instance });
        return;
      }
      if (req.method === 'DELETE' && parts.length === 2) {
        const existing = store.get(id);
        if (!existing) return notFound(res, `instance "${id}"`);
        remove(id);
        json(res, 200, { version, instance: existing });
        return;
      }
      if (req.method === 'PUT' && parts[2] === 'heartbeat') {
        const beat = parseOrThrow(heartbeatSchema, await readBody(req));
        const existing = store.get(id);
        if (!existing) return notFound(res, `instance "${id}"`);
        const instance: Instance = { ...existing, health: beat.status, ...(beat.reason ? { healthReason: beat.reason } : {}) };
        if (beat.status === 'passing') delete (instance as { healthReason?: string }).healthReason;
        if (instance.health !== existing.health || instance.healthReason !== existing.healthReason) upsert(instance);
        json(res, 200, { version, instance });
        return;
      }
    }
    if (req.method === 'GET' && path === '/services') {
      const byName = new Map<string, { name: string; instances: number; passing: number; critical: number }>();
      for (const i of store.values()) {
        const s = byName.get(i.service) ?? { name: i.service, instances: 0, passing: 0, critical: 0 };
        s.instances++;
        if (i.health === 'passing') s.passing++;
        else s.critical++;
        byName.set(i.service, s);
      }
      json(res, 200, { version, services: [...byName.values()] });
      return;
    }
    if (req.method === 'GET' && parts[0] === 'services' && parts[1] && parts[2] === 'instances') {
      const name = parts[1];
      json(res, 200, { version, service: name, instances: [...store.values()].filter((i) => i.service === name) });
      return;
    }
    notFound(res, `route ${req.method} ${url.pathname}`);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (isWeftError(err) && err.code === 'VALIDATION_FAILED') {
        json(res, 400, { code: err.code, message: err.message, field: err.details.field });
      } else {
        json(res, 500, { code: 'INTERNAL', message: (err as Error).message });
      }
    });
  });
  const pinger = setInterval(() => {
    for (const res of watchers) send(res, { type: 'ping', version });
  }, options.pingIntervalMs ?? 5_000);

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', resolve);
    });
  } catch (err) {
    clearInterval(pinger);
    throw err;
  }
  const port = (server.address() as AddressInfo).port;

  const fake: FakeControlPlane = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    watchSinces,
    version: () => version,
    instances: () => [...store.values()],
    upsert,
    remove,
    dropWatchers: () => {
      for (const res of watchers) res.destroy();
      watchers.clear();
    },
    writeRaw: (text) => {
      for (const res of watchers) res.write(text);
    },
    silent: false,
    chunkBytes: undefined,
    failWith: undefined,
    watcherCount: () => watchers.size,
    close: async () => {
      clearInterval(pinger);
      for (const res of watchers) res.destroy();
      watchers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
