// Telemetry: the control plane's and the sidecar's /metrics pass `promtool check metrics` and are scraped by a real Prometheus.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveProxyConfig } from '../../src/config/index.js';
import { startControlPlane, type ControlPlane } from '../../src/control/index.js';
import { startSidecar, type Sidecar } from '../../src/proxy/index.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { freePorts, requireBinary, spawnProcess, stopAll, waitForHttp } from '../support/index.js';
import { checkMetrics } from '../support/promtool.js';
import { HttpClient, pollUntil } from '../e2e/weft-cli.js';
import { createServer, type Server } from 'node:http';

const promtool = await requireBinary('promtool', { aptPackage: 'prometheus', purpose: 'checking /metrics with promtool' });
const prometheus = await requireBinary('prometheus', { aptPackage: 'prometheus', purpose: 'scraping /metrics with a real Prometheus' });

const silent = (name: string) => createRuntime({ name, logger: pino({ level: 'silent' }) });

describe.skipIf(promtool === undefined || prometheus === undefined)('metrics in Prometheus format', () => {
  let dir: string;
  let control: ControlPlane;
  let sidecar: Sidecar;
  let app: Server;
  const http = new HttpClient();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-prom-'));
    control = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dataDir: join(dir, 'data'), runtime: silent('control') });
    app = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const appPort = (app.address() as { port: number }).port;
    const config = resolveProxyConfig(
      {},
      { service: 'hello', control: control.url, appPort, outbound: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, healthIntervalMs: 200 },
      {},
    );
    sidecar = await startSidecar(config, silent('proxy'));
    const outbound = `http://127.0.0.1:${sidecar.outbound.port}`;
    await pollUntil('a request through the sidecar', 15_000, async () => ((await http.send(`${outbound}/`, { headers: { host: 'hello' } })).status === 200 ? true : undefined));
    for (let i = 0; i < 20; i++) await http.send(`${outbound}/`, { headers: { host: 'hello' } });
    await http.send(`${outbound}/`, { headers: { host: 'nosuch' } });
  }, 30_000);

  afterAll(async () => {
    http.close();
    await stopAll();
    await sidecar?.stop();
    await control?.close();
    app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['control plane', () => `${control.url}/metrics`, ['weft_registry_instances', 'weft_store_fsync_duration_seconds', 'weft_control_http_requests_total']],
    ['sidecar', () => `http://127.0.0.1:${sidecar.admin.port}/metrics`, ['weft_proxy_requests_total', 'weft_proxy_request_duration_seconds', 'weft_resolve_connected']],
  ])('the %s exposes well-formed, lint-clean weft metrics', async (_name, url, expected) => {
    const text = (await http.send(url())).body;
    for (const name of expected) expect(text).toContain(`# TYPE ${name} `);
    const { code, output } = await checkMetrics(promtool!, text);
    // promtool: 1 = parse error; 3 = lint findings, which Node's default process metrics always trigger.
    expect(code, output).not.toBe(1);
    const ours = output.split('\n').filter((line) => /weft_/.test(line) && !/weft_process_/.test(line));
    expect(ours).toEqual([]);
  });

  it('is scraped by a real Prometheus', async () => {
    const [port] = await freePorts(1);
    const config = join(dir, 'prometheus.yml');
    await writeFile(
      config,
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        '  - job_name: weft',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${control.port}', '127.0.0.1:${sidecar.admin.port}']`,
        '',
      ].join('\n'),
    );
    const server = spawnProcess(prometheus!, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`], { name: 'prometheus' });
    await waitForHttp(`http://127.0.0.1:${port}/-/ready`, 15_000, { process: server });
    const query = async (promql: string) => {
      const reply = await http.send(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = JSON.parse(reply.body) as { data?: { result?: { metric: Record<string, string>; value: [number, string] }[] } };
      return body.data?.result ?? [];
    };
    const instances = await pollUntil('Prometheus to have scraped the control plane', 30_000, async () => {
      const result = await query('weft_registry_instances{service="hello",health="passing"}');
      return result.length > 0 ? result : undefined;
    });
    expect(instances[0]!.value[1]).toBe('1');
    const requests = await pollUntil('Prometheus to have scraped the sidecar', 30_000, async () => {
      const result = await query('sum(weft_proxy_requests_total{direction="outbound",destination="hello",code="200"})');
      return result.length > 0 ? result : undefined;
    });
    expect(Number(requests[0]!.value[1])).toBeGreaterThanOrEqual(21);
    const up = await query('up{job="weft"}');
    expect(up.map((r) => r.value[1])).toEqual(['1', '1']);
  }, 60_000);
});
