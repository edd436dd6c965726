import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveProxyConfig } from '../../src/config/index.js';
import { startControlPlane, type ControlPlane } from '../../src/control/index.js';
import { startSidecar, type Sidecar } from '../../src/proxy/index.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { HttpClient, pollUntil } from '../e2e/weft-cli.js';
import { startFluentReceiver, type FluentReceiver } from '../support/index.js';

describe('sidecar: access log file and Fluent forward', () => {
  let dir: string;
  let control: ControlPlane;
  let sidecar: Sidecar | undefined;
  let app: Server;
  let fluent: FluentReceiver;
  let accessPath: string;
  const http = new HttpClient();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-logs-'));
    accessPath = join(dir, 'access.log');
    control = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dataDir: join(dir, 'data'), runtime: createRuntime({ name: 'control', logger: pino({ level: 'silent' }) }) });
    fluent = await startFluentReceiver();
    app = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const appPort = (app.address() as { port: number }).port;
    const config = resolveProxyConfig(
      {},
      {
        service: 'hello',
        control: control.url,
        token: control.adminToken,
        appPort,
        outbound: { host: '127.0.0.1', port: 0 },
        admin: { host: '127.0.0.1', port: 0 },
        healthIntervalMs: 200,
        accessLog: accessPath,
        fluent: { host: '127.0.0.1', port: fluent.port },
      },
      {},
    );
    // Component logs go to /dev/null here, and to Fluent beside it.
    const runtime = createRuntime({ name: 'proxy', logger: pino({ name: 'weft-proxy', level: 'info' }, pino.destination({ dest: '/dev/null', sync: true })) });
    sidecar = await startSidecar(config, runtime);
  }, 30_000);

  afterAll(async () => {
    http.close();
    await sidecar?.stop();
    await control?.close();
    app?.close();
    await fluent?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes outbound and inbound lines to the file and ships them and its own logs to Fluent', async () => {
    const outbound = `http://127.0.0.1:${sidecar!.outbound.port}`;
    await pollUntil('a request through the sidecar', 15_000, async () => ((await http.send(`${outbound}/ready`, { headers: { host: 'hello' } })).status === 200 ? true : undefined));
    for (let i = 0; i < 5; i++) expect((await http.send(`${outbound}/n/${i}`, { headers: { host: 'hello' } })).status).toBe(200);

    await pollUntil('access events at the Fluent receiver', 15_000, async () =>
      fluent.events.filter((e) => e.tag === 'weft.access' && String(e.record['path']).startsWith('/n/')).length >= 10 ? true : undefined,
    );
    const shipped = fluent.events.filter((e) => e.tag === 'weft.access' && String(e.record['path']).startsWith('/n/'));
    expect(shipped.filter((e) => e.record['direction'] === 'outbound')).toHaveLength(5);
    expect(shipped.filter((e) => e.record['direction'] === 'inbound')).toHaveLength(5);
    expect(shipped.find((e) => e.record['direction'] === 'outbound')!.record).toMatchObject({ source: 'hello', destination: 'hello', status: 200, attempts: 1 });
    const started = fluent.events.find((e) => e.tag === 'weft.log' && e.record['msg'] === 'sidecar started');
    expect(started?.record).toMatchObject({ name: 'weft-proxy', service: 'hello' });

    const metrics = (await http.send(`http://127.0.0.1:${sidecar!.admin.port}/metrics`)).body;
    expect(metrics).toMatch(/^weft_fluent_sent_total\{tag="weft.access"\} \d+/m);
    expect(metrics).toContain('# TYPE weft_fluent_buffered gauge');
    expect(metrics).toContain('# TYPE weft_fluent_dropped_total counter');

    await sidecar!.stop();
    const lines = (await readFile(accessPath, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((r) => String(r['path']).startsWith('/n/'));
    expect(lines).toHaveLength(10);
    expect(new Set(lines.map((r) => r['direction']))).toEqual(new Set(['outbound', 'inbound']));
  }, 40_000);
});
