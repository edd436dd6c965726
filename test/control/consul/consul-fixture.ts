// Consul API tests: a dev control plane on a free port (or one on the embedded store, used with its admin token), the real npm consul client, raw HTTP calls and polling with a deadline; or just a registry in memory whose log lines are kept.
import Consul from 'consul';
import { pino } from 'pino';
import type { Runtime } from '../../../src/core/index.js';
import { startControlPlane, type ControlPlane } from '../../../src/control/index.js';
import { MemoryBackend, Registry } from '../../../src/registry/index.js';
import { createRuntime } from '../../../src/telemetry/index.js';

export interface Fixture {
  readonly plane: ControlPlane;
  readonly consul: Consul;
}

const started: Fixture[] = [];
/** Memory registries to close in `stopFixtures`, after the test has closed what it built on them. */
const registries: Registry[] = [];

/** A dev (in-memory) control plane, or one on the embedded store in `dataDir`. */
export async function startFixture(options: { dataDir?: string } = {}): Promise<Fixture> {
  const runtime = createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) });
  const store = options.dataDir === undefined ? { dev: true } : { dataDir: options.dataDir };
  const plane = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, runtime, ...store });
  const consul = new Consul({ host: '127.0.0.1', port: plane.port, ...(plane.adminToken === undefined ? {} : { defaults: { token: plane.adminToken } }) });
  const fixture = { plane, consul };
  started.push(fixture);
  return fixture;
}

export async function stopFixtures(): Promise<void> {
  for (const { plane, consul } of started.splice(0)) {
    consul.destroy();
    await plane.close();
  }
  for (const registry of registries.splice(0)) await registry.close();
}

export interface RawReply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

export async function call(plane: ControlPlane, method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<RawReply> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(timeoutMs), ...(plane.adminToken === undefined ? {} : { headers: { 'x-consul-token': plane.adminToken } }) };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(plane.url + path, init);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Polls until `check` returns a value other than undefined, or fails after the deadline. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export type LogLine = { level: number; msg: string } & Record<string, unknown>;

export interface MemoryRegistry {
  readonly runtime: Runtime;
  readonly registry: Registry;
  /** Every line logged at info and up, parsed. */
  readonly logs: LogLine[];
}

/** A registry on a memory backend, with a runtime that keeps its log lines; `stopFixtures` closes it. */
export async function startMemoryRegistry(): Promise<MemoryRegistry> {
  const logs: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const runtime = createRuntime({ name: 'test', processMetrics: false, logger });
  const registry = await Registry.open(new MemoryBackend(), runtime);
  registries.push(registry);
  return { runtime, registry, logs };
}
