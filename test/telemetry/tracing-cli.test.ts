// Telemetry: `weft run` and `weft proxy` with --trace-otlp, as real processes: spans chained across them, flushed on SIGTERM.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OTLP_SPAN_KIND, freePorts, startOtlpReceiver, stopAll, stopProcess, waitForHttp, type OtlpReceiver } from '../support/index.js';
import { GREETER_APP, HttpClient, pollUntil, startWeft } from '../e2e/weft-cli.js';

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

  it('weft run and weft proxy export chained spans and flush them when stopped', async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-tracing-cli-'));
    receiver = await startOtlpReceiver();
    const [controlPort, outboundPort] = await freePorts(2);
    const controlUrl = `http://127.0.0.1:${controlPort}`;
    const control = startWeft('control', ['control', '--listen', `127.0.0.1:${controlPort}`, '--data-dir', join(dir, 'data')]);
    await waitForHttp(`${controlUrl}/healthz`, 15_000, { process: control });
    const greeter = startWeft(
      'greeter',
      ['run', '--service', 'greeter', '--control', controlUrl, '--outbound', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--health-interval', '200',
        '--trace-otlp', receiver.url, '--', process.execPath, GREETER_APP],
      { group: true },
    );
    const client = startWeft('client', ['proxy', '--service', 'client', '--control', controlUrl, '--outbound', `127.0.0.1:${outboundPort}`, '--admin', '127.0.0.1:0',
      '--trace-otlp', receiver.url, '--trace-sample', '0']);
    const hello = (headers: Record<string, string> = {}) => http.send(`http://127.0.0.1:${outboundPort}/hello`, { headers: { host: 'greeter', ...headers } });
    await pollUntil('greeter reachable through the client sidecar', 20_000, async () => ((await hello()).status === 200 ? true : undefined));

    // The client samples no new trace, but keeps a caller's sampled decision.
    expect((await hello({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` })).status).toBe(200);
    expect((await stopProcess(client)).code).toBe(0);
    expect((await stopProcess(greeter)).code).not.toBeNull();

    const spans = receiver.spans;
    const out = spans.find((s) => s.kind === OTLP_SPAN_KIND.client);
    const inb = spans.filter((s) => s.kind === OTLP_SPAN_KIND.server && s.traceId === TRACE_ID);
    // Only the sampled request made spans: the polling requests started unsampled traces at the client.
    expect(spans.filter((s) => s.kind === OTLP_SPAN_KIND.client)).toHaveLength(1);
    expect(out).toMatchObject({ service: 'client', traceId: TRACE_ID, parentSpanId: PARENT_ID, name: 'GET greeter' });
    expect(inb).toHaveLength(1);
    expect(inb[0]).toMatchObject({ service: 'greeter', parentSpanId: out!.spanId });
  }, 60_000);
});
