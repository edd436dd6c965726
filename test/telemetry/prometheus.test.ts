// Telemetry: the control plane's and the sidecar's /metrics pass `promtool check metrics`, are scraped by a real Prometheus,
// and PromQL over its HTTP API gives back the request rate and count a test sent at a known pace.
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

/** 20 requests per second for 12 s: a 10 s rate window fits inside with a scrape to spare on each side. */
const PACED_RATE = 20;
const PACED_REQUESTS = 240;

const silent = (name: string) => createRuntime({ name, logger: pino({ level: 'silent' }) });

describe.skipIf(promtool === undefined || prometheus === undefined)('metrics in Prometheus format', () => {
  let dir: string;
  let control: ControlPlane;
  let sidecar: Sidecar;
  let app: Server;
  let served = 0;
  let outbound: string;
  const http = new HttpClient();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-prom-'));
    control = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dataDir: join(dir, 'data'), runtime: silent('control') });
    app = createServer((_req, res) => {
      served++;
      res.end('ok');
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const appPort = (app.address() as { port: number }).port;
    const config = resolveProxyConfig(
      {},
      { service: 'hello', control: control.url, token: control.adminToken, appPort, outbound: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, healthIntervalMs: 200 },
      {},
    );
    sidecar = await startSidecar(config, silent('proxy'));
    outbound = `http://127.0.0.1:${sidecar.outbound.port}`;
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
    ['sidecar', () => `http://127.0.0.1:${sidecar.admin.port}/metrics`, ['weft_proxy_requests_total', 'weft_proxy_request_duration_seconds', 'weft_resolve_connected', 'weft_proxy_tcp_connections_opened_total', 'weft_proxy_tcp_connections_closed_total', 'weft_proxy_tcp_connections_open', 'weft_proxy_tcp_received_bytes_total', 'weft_proxy_tcp_sent_bytes_total']],
  ])('the %s exposes well-formed, lint-clean weft metrics', async (_name, url, expected) => {
    const text = (await http.send(url())).body;
    for (const name of expected) expect(text).toContain(`# TYPE ${name} `);
    const { code, output } = await checkMetrics(promtool!, text);
    // promtool: 1 = parse error; 3 = lint findings, which Node's default process metrics always trigger.
    expect(code, output).not.toBe(1);
    const ours = output.split('\n').filter((line) => /weft_/.test(line) && !/weft_process_/.test(line));
    expect(ours).toEqual([]);
  });

  describe('a real Prometheus', () => {
    let port: number;

    const query = async (promql: string, at?: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
      const time = at === undefined ? '' : `&time=${at / 1000}`;
      const reply = await http.send(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}${time}`);
      const body = JSON.parse(reply.body) as { data?: { result?: { metric: Record<string, string>; value: [number, string] }[] } };
      return body.data?.result ?? [];
    };

    beforeAll(async () => {
      [port] = (await freePorts(1)) as [number];
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
    }, 30_000);

    it('scrapes the control plane and the sidecar', async () => {
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

    it('answers PromQL with the request rate and count of paced traffic', async () => {
      const inbound = 'weft_proxy_requests_total{direction="inbound",destination="hello"}';
      // The rate window must find samples from before the traffic: Prometheus' first scrape takes a few seconds to show.
      await pollUntil('Prometheus to have a first sample of the sidecar', 30_000, async () => ((await query(`sum(${inbound})`)).length > 0 ? true : undefined));
      // Requests go out on a fixed schedule (not one after another), so the rate holds whatever each one takes.
      const started = Date.now();
      for (let i = 0; i < PACED_REQUESTS; i++) {
        const due = started + (i * 1000) / PACED_RATE;
        if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
        expect((await http.send(`${outbound}/paced`, { headers: { host: 'hello' } })).status).toBe(200);
      }
      const ended = Date.now();
      // Everything the app served went through the inbound listener: once scraped, the counter is exactly that.
      const total = await pollUntil('Prometheus to have scraped the last request', 15_000, async () => {
        const result = await query(`sum(${inbound})`);
        return result.length > 0 && Number(result[0]!.value[1]) === served ? Number(result[0]!.value[1]) : undefined;
      });
      expect(total).toBe(served);
      // A 10 s window that ends half a second before the traffic did lies wholly within it.
      const rate = await query(`sum(rate(${inbound}[10s]))`, ended - 500);
      expect(rate).toHaveLength(1);
      const perSecond = Number(rate[0]!.value[1]);
      expect(Math.abs(perSecond - PACED_RATE), `rate ${perSecond}/s`).toBeLessThanOrEqual(PACED_RATE * 0.15);
      expect(ended - started).toBeGreaterThanOrEqual(((PACED_REQUESTS - 1) * 1000) / PACED_RATE);
    }, 60_000);
  });
});
