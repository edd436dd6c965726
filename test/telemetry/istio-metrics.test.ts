// Telemetry: Istio's standard metrics — flags, labels and buckets from the registry, then through a real sidecar pair checked by promtool.
import { createServer, type Server } from 'node:http';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveProxyConfig } from '../../src/config/index.js';
import { parseLabels } from '../../src/control/stats/index.js';
import { startControlPlane, type ControlPlane } from '../../src/control/index.js';
import { startSidecar, type Sidecar } from '../../src/proxy/index.js';
import { createIstioMetrics, createRuntime, ISTIO_BUCKETS, ISTIO_RESPONSE_FLAGS, istioResponseFlag } from '../../src/telemetry/index.js';
import { requireBinary } from '../support/index.js';
import { closedPort, instance, quietRuntime, send } from '../proxy/request-path-fixtures.js';
import { policyHarness, policySnapshots } from '../proxy/policy-fixtures.js';
import { checkMetrics } from '../support/promtool.js';
import { HttpClient, pollUntil } from '../e2e/weft-cli.js';

const promtool = await requireBinary('promtool', { aptPackage: 'prometheus', purpose: 'checking the Istio metrics with promtool' });

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function samples(text: string, name: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    out.push({ name, labels: Object.fromEntries(parseLabels(line.slice(name.length + 1, close))), value: Number(line.slice(close + 1).trim()) });
  }
  return out;
}

const flagName = (flag: number) => ISTIO_RESPONSE_FLAGS[flag];

describe('Istio response flags', () => {
  it.each([
    ['NO_ENDPOINTS', 'UH'],
    ['CONNECT_FAILED', 'UF'],
    ['APP_UNAVAILABLE', 'UF'],
    ['UPSTREAM_TIMEOUT', 'UT'],
    ['DEADLINE_EXCEEDED', 'UT'],
    ['UPSTREAM_RESET', 'UR'],
    ['UPSTREAM_PROTOCOL_ERROR', 'UPE'],
    ['CIRCUIT_OPEN', 'UO'],
    ['OVERFLOW', 'UO'],
    ['FAULT_INJECTED', 'FI'],
    ['MISSING_HOST', 'NR'],
    ['AMBIGUOUS_HOST', 'NR'],
    ['DRAINING', '-'],
    ['', '-'],
  ])('%s is %s', (code, flag) => {
    expect(flagName(istioResponseFlag(code, false, false))).toBe(flag);
  });

  it('says DC for a client that left and DI for an injected delay, unless an error says more', () => {
    expect(flagName(istioResponseFlag('', true, true))).toBe('DC');
    expect(flagName(istioResponseFlag('', false, true))).toBe('DI');
    expect(flagName(istioResponseFlag('UPSTREAM_TIMEOUT', true, true))).toBe('UT');
  });
});

describe('Istio metrics on a registry', () => {
  it('counts per peer, code and flag, with cumulative millisecond buckets and Istio\'s label values', async () => {
    const registry = new Registry();
    const istio = createIstioMetrics(registry, { service: 'web', version: 'v1', namespace: 'prod' });
    const greeterV2 = istio.outbound('greeter').version('v2');
    expect(istio.outbound('greeter').version('v2')).toBe(greeterV2);
    greeterV2.request(200, 0, 0.4, 0, 100);
    greeterV2.request(200, 0, 7, 20, 100);
    greeterV2.request(503, istioResponseFlag('CONNECT_FAILED', false, false), 2, 0, 50);
    const text = await registry.metrics();
    const requests = samples(text, 'istio_requests_total');
    expect(requests).toHaveLength(2);
    expect(requests[0]).toEqual({
      name: 'istio_requests_total',
      value: 2,
      labels: {
        reporter: 'source',
        source_workload: 'web',
        source_workload_namespace: 'prod',
        source_principal: 'unknown',
        source_app: 'web',
        source_version: 'v1',
        source_canonical_service: 'web',
        source_canonical_revision: 'v1',
        source_cluster: 'unknown',
        destination_workload: 'greeter',
        destination_workload_namespace: 'prod',
        destination_principal: 'unknown',
        destination_app: 'greeter',
        destination_version: 'v2',
        destination_service: 'greeter.prod.svc.cluster.local',
        destination_service_name: 'greeter',
        destination_service_namespace: 'prod',
        destination_canonical_service: 'greeter',
        destination_canonical_revision: 'v2',
        destination_cluster: 'unknown',
        request_protocol: 'http',
        response_flags: '-',
        connection_security_policy: 'unknown',
        response_code: '200',
        grpc_response_status: '',
      },
    });
    expect(requests[1]!.labels).toMatchObject({ response_code: '503', response_flags: 'UF' });
    const ok = (s: Sample) => s.labels['response_code'] === '200';
    const buckets = samples(text, 'istio_request_duration_milliseconds_bucket').filter(ok);
    expect(buckets.map((b) => b.labels['le'])).toEqual([...ISTIO_BUCKETS.map(String), '+Inf']);
    // 0.4 ms falls in le=0.5; 7 ms in le=10; cumulative from there on.
    expect(buckets.map((b) => b.value).slice(0, 5)).toEqual([1, 1, 1, 2, 2]);
    expect(samples(text, 'istio_request_duration_milliseconds_sum').filter(ok)[0]!.value).toBeCloseTo(7.4);
    expect(samples(text, 'istio_request_bytes_sum').filter(ok)[0]!.value).toBe(20);
    expect(samples(text, 'istio_response_bytes_count').filter(ok)[0]!.value).toBe(2);
  });

  it('keeps one "unknown" caller for every placeholder source, and reports plaintext inbound as "none"', async () => {
    const registry = new Registry();
    const istio = createIstioMetrics(registry, { service: 'greeter', version: '', namespace: 'default' });
    expect(istio.inbound('_unknown')).toBe(istio.inbound('_other'));
    istio.inbound('_unknown').request(200, 0, 1, 0, 10);
    istio.inbound('_other').request(200, 0, 1, 0, 10);
    istio.inbound('web').request(200, 0, 1, 0, 10);
    const requests = samples(await registry.metrics(), 'istio_requests_total');
    expect(requests.map((s) => [s.labels['source_workload'], s.value])).toEqual([['unknown', 2], ['web', 1]]);
    expect(requests[0]!.labels).toMatchObject({
      reporter: 'destination',
      source_workload_namespace: 'unknown',
      source_canonical_revision: 'latest',
      destination_workload: 'greeter',
      destination_version: 'unknown',
      destination_canonical_revision: 'latest',
      destination_service: 'greeter.default.svc.cluster.local',
      connection_security_policy: 'none',
    });
  });
});

describe('Istio flags from the outbound exchange', () => {
  const { upstreams, outbound } = policyHarness();

  it('flags an injected delay DI, an injected abort FI and a refused connection UF, with the chosen instance\'s version', async () => {
    const [a] = await upstreams(['a']);
    const runtime = quietRuntime();
    const istio = createIstioMetrics(runtime.metrics, { service: 'web', version: '', namespace: 'default' });
    const routes = [
      { match: { pathPrefix: '/slow' }, backends: [{ weight: 1 }], fault: { delay: { percent: 100, ms: 20 } } },
      { match: { pathPrefix: '/broken' }, backends: [{ weight: 1 }], fault: { abort: { percent: 100, status: 418 } } },
    ];
    const port = await outbound({
      runtime,
      istio,
      maxAttempts: 1,
      snapshots: policySnapshots([instance('greeter-a', a!.port, { meta: { version: 'v3' } }), instance('other-a', await closedPort(), { service: 'other' })], { greeter: { routes } }),
    });
    expect((await send(port, { path: '/slow' })).status).toBe(200);
    expect((await send(port, { path: '/broken' })).status).toBe(418);
    expect((await send(port, { path: '/' })).status).toBe(200);
    expect((await send(port, { host: 'other' })).status).toBe(503);
    const rows = samples(await runtime.metrics.metrics(), 'istio_requests_total').map((s) => [s.labels['destination_service_name'], s.labels['destination_version'], s.labels['response_code'], s.labels['response_flags'], s.value]);
    expect(rows.sort()).toEqual([
      ['greeter', 'unknown', '418', 'FI', 1],
      ['greeter', 'v3', '200', '-', 1],
      ['greeter', 'v3', '200', 'DI', 1],
      ['other', 'unknown', '503', 'UF', 1],
    ]);
  });
});

describe.skipIf(promtool === undefined)('Istio metrics through a real sidecar pair', () => {
  const silent = (name: string) => createRuntime({ name, processMetrics: false, logger: pino({ level: 'silent' }) });
  const http = new HttpClient();
  let control: ControlPlane;
  let app: Server;
  let greeter: Sidecar;
  let web: Sidecar;
  let webText = '';
  let greeterText = '';

  beforeAll(async () => {
    control = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dev: true, runtime: silent('control') });
    app = createServer((req, res) => {
      res.writeHead(req.url === '/fail' ? 503 : 200);
      res.end('hello');
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const appPort = (app.address() as { port: number }).port;
    const ephemeral = { outbound: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 } };
    greeter = await startSidecar(
      resolveProxyConfig({ metrics: { istio: true, namespace: 'prod' } }, { service: 'greeter', control: control.url, appPort, meta: { version: 'v2' }, healthIntervalMs: 200, ...ephemeral }, {}),
      silent('greeter'),
    );
    web = await startSidecar(resolveProxyConfig({}, { service: 'web', control: control.url, istioMetrics: true, istioNamespace: 'prod', ...ephemeral }, {}), silent('web'));
    const outbound = `http://127.0.0.1:${web.outbound.port}`;
    // Wait on web's view of the mesh rather than on requests, so that the counts below are exactly the ones sent.
    await pollUntil('greeter passing in web\'s snapshot', 15_000, async () => {
      const snapshot = JSON.parse((await http.send(`http://127.0.0.1:${web.admin.port}/snapshot`)).body) as { services?: Record<string, { health: string }[]> };
      return snapshot.services?.['greeter']?.some((endpoint) => endpoint.health === 'passing') ? true : undefined;
    });
    for (let i = 0; i < 10; i++) expect((await http.send(`${outbound}/`, { headers: { host: 'greeter' } })).status).toBe(200);
    expect((await http.send(`${outbound}/fail`, { headers: { host: 'greeter' } })).status).toBe(503);
    expect((await http.send(`${outbound}/`, { headers: { host: 'nosuch' } })).status).toBe(503);
    webText = (await http.send(`http://127.0.0.1:${web.admin.port}/metrics`)).body;
    greeterText = (await http.send(`http://127.0.0.1:${greeter.admin.port}/metrics`)).body;
  }, 30_000);

  afterAll(async () => {
    http.close();
    await web?.stop();
    await greeter?.stop();
    await control?.close();
    app?.close();
  });

  const counts = (text: string) =>
    samples(text, 'istio_requests_total')
      .map((s) => [s.labels['reporter'], s.labels['source_workload'], s.labels['destination_service'], s.labels['destination_version'], s.labels['response_code'], s.labels['response_flags'], s.value])
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

  it('reports each side of the same requests: reporter="source" at the caller, reporter="destination" at the callee', () => {
    expect(counts(webText)).toEqual([
      ['source', 'web', 'greeter.prod.svc.cluster.local', 'v2', '200', '-', 10],
      ['source', 'web', 'greeter.prod.svc.cluster.local', 'v2', '503', '-', 1],
      ['source', 'web', 'unknown', 'unknown', '503', 'UH', 1],
    ]);
    expect(counts(greeterText)).toEqual([
      ['destination', 'web', 'greeter.prod.svc.cluster.local', 'v2', '200', '-', 10],
      ['destination', 'web', 'greeter.prod.svc.cluster.local', 'v2', '503', '-', 1],
    ]);
    const inbound = samples(greeterText, 'istio_requests_total')[0]!.labels;
    expect(inbound).toMatchObject({ source_workload_namespace: 'prod', destination_workload: 'greeter', connection_security_policy: 'none', request_protocol: 'http' });
  });

  it('agrees with weft\'s own counts and keeps every histogram consistent (what PromQL\'s rate and histogram_quantile rely on)', () => {
    const sum = (list: Sample[]) => list.reduce((total, s) => total + s.value, 0);
    const weftInbound = samples(greeterText, 'weft_proxy_requests_total').filter((s) => s.labels['direction'] === 'inbound');
    expect(sum(samples(greeterText, 'istio_requests_total'))).toBe(sum(weftInbound));
    for (const text of [webText, greeterText]) {
      const requests = samples(text, 'istio_requests_total');
      for (const family of ['istio_request_duration_milliseconds', 'istio_request_bytes', 'istio_response_bytes']) {
        const countsOf = samples(text, `${family}_count`);
        expect(countsOf.map((s) => s.value)).toEqual(requests.map((s) => s.value));
        for (const series of countsOf) {
          const key = JSON.stringify(series.labels);
          const buckets = samples(text, `${family}_bucket`).filter((b) => JSON.stringify({ ...b.labels, le: undefined }) === JSON.stringify({ ...series.labels, le: undefined }));
          expect(buckets, key).toHaveLength(ISTIO_BUCKETS.length + 1);
          expect(buckets.at(-1)!.value, key).toBe(series.value);
          for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value, key).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
        }
      }
    }
    // Every response carried at least its status line and the 5-byte body.
    const responseBytes = samples(greeterText, 'istio_response_bytes_sum').find((s) => s.labels['response_code'] === '200')!;
    expect(responseBytes.value).toBeGreaterThan(10 * 5);
  });

  it('passes promtool; its one lint note is the millisecond unit Istio\'s name has', async () => {
    for (const text of [webText, greeterText]) {
      const { code, output } = await checkMetrics(promtool!, text);
      expect(code, output).not.toBe(1);
      const istioNotes = output.split('\n').filter((line) => line.startsWith('istio_'));
      expect(istioNotes).toEqual(['istio_request_duration_milliseconds use base unit "seconds" instead of "milliseconds"']);
    }
  });

  it('stays off unless asked: no istio_ series on a sidecar without the option', async () => {
    const plain = await startSidecar(resolveProxyConfig({}, { service: 'plain', control: control.url, outbound: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 } }, {}), silent('plain'));
    try {
      const text = (await http.send(`http://127.0.0.1:${plain.admin.port}/metrics`)).body;
      expect(text).toContain('weft_proxy_in_flight');
      expect(text).not.toContain('istio_');
    } finally {
      await plain.stop();
    }
  });
});
