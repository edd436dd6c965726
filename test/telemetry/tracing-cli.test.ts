// Telemetry: `weft run --trace-otlp` as real processes: frontend → greeter, the frontend app forwarding
// the trace headers, every span of one trace chained, a caller's sampled flag kept at ratio 0, spans flushed on SIGTERM.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { OTLP_SPAN_KIND, freePorts, startOtlpReceiver, stopAll, stopProcess, waitForHttp, type OtlpReceiver } from '../support/index.js';
import { adminTokenOf, applyYaml, GREETER_APP, HttpClient, pollUntil, startWeft } from '../e2e/weft-cli.js';

const FRONTEND_APP = fileURLToPath(new URL('../../examples/frontend/server.js', import.meta.url));
const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const PARENT_ID = 'eee19b7ec3c1b174';

describe('tracing from the command line', () => {
  let dir: string | undefined;
  let receiver: OtlpReceiver | undefined;
  const http = new HttpClient();

  afterAll(async () => {
    http.close();
    await stopAll();
    await receiver?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('chains the spans of every hop into the caller\'s trace when the app forwards the headers', async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-tracing-cli-'));
    receiver = await startOtlpReceiver();
    const [controlPort, frontendInbound] = await freePorts(2);
    const controlUrl = `http://127.0.0.1:${controlPort}`;
    const control = startWeft('control', ['control', '--listen', `127.0.0.1:${controlPort}`, '--data-dir', join(dir, 'data')]);
    await waitForHttp(`${controlUrl}/healthz`, 15_000, { process: control });
    const env = { WEFT_TOKEN: await adminTokenOf(join(dir, 'data')) };
    // The test calls frontend's inbound port from outside the mesh, in plaintext: an edge service is permissive.
    expect((await applyYaml(dir, 'frontend.yaml', 'kind: ServicePolicy\nservice: frontend\nmtls: permissive\n', { ...env, WEFT_CONTROL: controlUrl })).code).toBe(0);
    const sidecar = ['--control', controlUrl, '--outbound', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--health-interval', '200', '--trace-otlp', receiver.url];
    const greeter = startWeft('greeter', ['run', '--service', 'greeter', ...sidecar, '--', process.execPath, GREETER_APP], { group: true, env });
    // Ratio 0 at the edge: only callers that ask for a sampled trace are traced.
    const frontend = startWeft('frontend', ['run', '--service', 'frontend', '--inbound', `127.0.0.1:${frontendInbound}`, ...sidecar, '--trace-sample', '0',
      '--', process.execPath, FRONTEND_APP], { group: true, env });
    const call = (headers: Record<string, string> = {}) => http.send(`http://127.0.0.1:${frontendInbound}/?name=trace`, { headers });
    await pollUntil('greeter reachable through frontend', 20_000, async () => ((await call()).status === 200 ? true : undefined));

    expect((await call({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` })).status).toBe(200);
    expect((await stopProcess(frontend)).code).toBe(0);
    expect((await stopProcess(greeter)).code).toBe(0);

    // The polling requests started unsampled traces at frontend's inbound sidecar: nothing of them is exported.
    expect(receiver.spans.every((s) => s.traceId === TRACE_ID)).toBe(true);
    const kinds = receiver.spans.map((s) => `${s.service}:${s.kind}`).sort();
    expect(kinds).toEqual([`frontend:${OTLP_SPAN_KIND.client}`, `frontend:${OTLP_SPAN_KIND.server}`, `greeter:${OTLP_SPAN_KIND.server}`].sort());
    const frontendServer = receiver.spans.find((s) => s.service === 'frontend' && s.kind === OTLP_SPAN_KIND.server)!;
    const frontendClient = receiver.spans.find((s) => s.service === 'frontend' && s.kind === OTLP_SPAN_KIND.client)!;
    const greeterServer = receiver.spans.find((s) => s.service === 'greeter')!;
    expect(frontendServer).toMatchObject({ name: 'GET frontend', parentSpanId: PARENT_ID });
    // The app forwarded the traceparent its sidecar gave it: its outbound call is a child of its inbound span.
    expect(frontendClient).toMatchObject({ name: 'GET greeter', parentSpanId: frontendServer.spanId });
    expect(greeterServer).toMatchObject({ name: 'GET greeter', parentSpanId: frontendClient.spanId });
    expect(greeterServer.attributes['weft.source']).toBe('frontend');
  }, 60_000);
});
