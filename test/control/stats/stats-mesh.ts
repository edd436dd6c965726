// Control stats tests: a real mesh in-process for the stats and topology APIs: a control plane that scrapes every
// 500 ms, sidecars on free loopback ports (with or without an app), and one keep-alive HTTP client.
import { pino } from 'pino';
import { resolveProxyConfig } from '../../../src/config/index.js';
import { startControlPlane, type ControlPlane } from '../../../src/control/index.js';
import { startSidecar, type Sidecar } from '../../../src/proxy/index.js';
import { ControlClient } from '../../../src/workload/index.js';
import { createRuntime } from '../../../src/telemetry/index.js';
import { HttpClient } from '../../e2e/weft-cli.js';

export const silentRuntime = (name: string) => createRuntime({ name, logger: pino({ level: 'silent' }) });

export interface StatsMesh {
  readonly control: ControlPlane;
  readonly client: ControlClient;
  readonly http: HttpClient;
  readonly sidecars: readonly Sidecar[];
  /** A sidecar of `service` in front of the app on `appPort`; outbound-only without one. */
  sidecar(service: string, appPort?: number): Promise<Sidecar>;
  /** Stops every sidecar, then the control plane. */
  close(): Promise<void>;
}

export async function startStatsMesh(): Promise<StatsMesh> {
  const control = await startControlPlane({ listen: { host: '127.0.0.1', port: 0 }, dev: true, runtime: silentRuntime('control'), stats: { intervalMs: 500 } });
  const client = new ControlClient(control.url);
  const http = new HttpClient();
  const sidecars: Sidecar[] = [];
  return {
    control,
    client,
    http,
    sidecars,
    async sidecar(service, appPort) {
      const config = resolveProxyConfig(
        {},
        { service, control: control.url, ...(appPort === undefined ? {} : { appPort }), outbound: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, healthIntervalMs: 200 },
        {},
      );
      const started = await startSidecar(config, silentRuntime(`proxy-${service}`));
      sidecars.push(started);
      return started;
    },
    async close() {
      http.close();
      client.close();
      await Promise.all(sidecars.map((s) => s.stop()));
      await control.close();
    },
  };
}
