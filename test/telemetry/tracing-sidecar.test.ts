// Telemetry: whole sidecars with `tracing:` configured chain their spans through a real control plane, and flush them on stop.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveProxyConfig } from '../../src/config/index.js';
import { startControlPlane, type ControlPlane } from '../../src/control/index.js';
import { startSidecar, type Sidecar } from '../../src/proxy/index.js';
import { createRuntime } from '../../src/telemetry/index.js';
import { OTLP_SPAN_KIND, startOtlpReceiver, type OtlpReceiver } from '../support/index.js';
import { HttpClient, pollUntil } from '../e2e/weft-cli.js';

const silent = (name: string) => createRuntime({ name, logger: pino({ level: 'silent' }) });
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';

describe('tracing sidecars', () => {
  let dir: string;
  let control: ControlPlane;
  let receiver: OtlpReceiver;
  let app: Server;
  const seen: IncomingHttpHeaders[] = [];
  const sidecars: Sidecar[] = [];
  const http = new HttpClient();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-tracing-'));
    control = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dataDir: join(dir, 'data'), runtime: silent('control') });
    receiver = await startOtlpReceiver();
    app = createServer((req, res) => {
      seen.push(req.headers);
      res.end('ok');
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    http.close();
    for (const sidecar of sidecars) await sidecar.stop();
    app?.close();
    await receiver?.close();
    await control?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('export a CLIENT and a SERVER span per request, chained, and flush them when stopped', async () => {
    const appPort = (app.address() as { port: number }).port;
    const base = { control: control.url, token: control.adminToken, outbound: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, healthIntervalMs: 200 };
    // The default batch delay (1 s) stays: the spans of the last request reach the receiver through the flush on stop.
    const tracing = { tracing: { otlp: receiver.url, sample: 1 } };
    const greeter = await startSidecar(resolveProxyConfig(tracing, { ...base, service: 'greeter', appPort }, {}), silent('greeter'));
    sidecars.push(greeter);
    const web = await startSidecar(resolveProxyConfig(tracing, { ...base, service: 'web' }, {}), silent('web'));
    sidecars.push(web);
    const outbound = `http://127.0.0.1:${web.outbound.port}/hello`;
    await pollUntil('greeter reachable through web', 15_000, async () => ((await http.send(outbound, { headers: { host: 'greeter' } })).status === 200 ? true : undefined));

    // The spans of the polling requests go out with the first batch, counted on the admin port.
    const exported = async () => Number(/^weft_trace_spans_exported_total (\d+)$/m.exec((await http.send(`http://127.0.0.1:${web.admin.port}/metrics`)).body)?.[1] ?? 0);
    await pollUntil('exported spans counted on /metrics', 10_000, async () => ((await exported()) > 0 ? true : undefined));

    const reply = await http.send(outbound, { headers: { host: 'greeter', traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` } });
    expect(reply.status).toBe(200);
    await web.stop();
    await greeter.stop();

    const ours = receiver.spans.filter((s) => s.traceId === TRACE_ID);
    const out = ours.find((s) => s.kind === OTLP_SPAN_KIND.client);
    const inb = ours.find((s) => s.kind === OTLP_SPAN_KIND.server);
    expect(ours).toHaveLength(2);
    expect(out).toMatchObject({ service: 'web', name: 'GET greeter', parentSpanId: PARENT_ID });
    expect(out!.attributes).toMatchObject({ 'weft.source': 'web', 'weft.destination': 'greeter', 'weft.upstream.instance': greeter.instanceId });
    expect(inb).toMatchObject({ service: 'greeter', name: 'GET greeter', parentSpanId: out!.spanId });
    expect(seen.at(-1)!.traceparent).toBe(`00-${TRACE_ID}-${inb!.spanId}-01`);
  }, 30_000);
});
