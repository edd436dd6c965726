// Control auth tests: a non-dev control plane on a temporary data dir whose log lines are kept, and raw HTTP calls with chosen credentials.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../../../src/control/index.js';
import { createRuntime } from '../../../src/telemetry/index.js';

export interface AuthPlane {
  readonly plane: ControlPlane;
  readonly dataDir: string;
  /** Every line the control plane logged (level debug and up). */
  readonly logs: string[];
  readonly admin: string;
}

const cleanups: Array<() => Promise<void>> = [];

export async function startAuthPlane(options: Partial<ControlPlaneOptions> & { dataDir?: string } = {}): Promise<AuthPlane> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'weft-auth-')));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const runtime = createRuntime({ name: 'control', processMetrics: false, logger: pino({ level: 'debug' }, sink) });
  const plane = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, runtime, ...options, dataDir });
  cleanups.push(async () => {
    await plane.close();
    if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
  });
  return { plane, dataDir, logs, admin: plane.adminToken ?? '' };
}

export async function stopAuthPlanes(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

export interface RawReply {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, unknown>;
}

/** `auth` is the whole Authorization header value, or { consul: token } for X-Consul-Token. */
export async function call(plane: ControlPlane, method: string, path: string, body?: unknown, auth?: string | { consul: string }): Promise<RawReply> {
  const headers: Record<string, string> = {};
  if (typeof auth === 'string') headers.authorization = auth;
  else if (auth) headers['x-consul-token'] = auth.consul;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(plane.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = { text };
  }
  return { status: res.status, headers: res.headers, json };
}

export const bearer = (token: string): string => `Bearer ${token}`;

export async function joinToken(plane: AuthPlane, service: string): Promise<string> {
  const reply = await call(plane.plane, 'POST', '/api/v1/tokens', { kind: 'join', service }, bearer(plane.admin));
  if (reply.status !== 201) throw new Error(`token create answered ${reply.status}: ${JSON.stringify(reply.json)}`);
  return reply.json.token as string;
}

export const registration = (service: string, port = 9000) => ({ service, host: '127.0.0.1', port, ttlMs: 60_000 });
