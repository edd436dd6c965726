// Bench peer: the weft contender — a dev control plane with the upstream registered, and one outbound-only sidecar.
import { freePorts, stopProcess } from '../../test/support/index.js';
import { awaitReady, runningPeer, type Contender, type PeerContext } from './peer.js';
import { launchSidecar, put, startDevControl, weftCli } from './weft-control.js';

const SERVICE = 'bench-upstream';
const INSTANCE_ID = 'bench-upstream-1';
/** Long enough that a slow heartbeat on a loaded machine never lets the instance lapse mid-run. */
const TTL_MS = 60_000;
const HEARTBEAT_MS = 5_000;

/** The checkout, already built, that `weft-baseline` runs: another commit of weft, measured in the same interleaved rounds. */
export const BASELINE_ENV = 'WEFT_BENCH_BASELINE';

export const weft: Contender = weftContender('weft', (ctx) => ctx.repoRoot, 'this checkout');

export const weftBaseline: Contender = weftContender(
  'weft-baseline',
  () => {
    const root = process.env[BASELINE_ENV];
    if (root === undefined || root === '') throw new Error(`weft-baseline runs the checkout named by ${BASELINE_ENV} (a clone at the commit to compare against, with npm ci and npm run build done)`);
    return root;
  },
  `the checkout in $${BASELINE_ENV}`,
);

function weftContender(name: string, rootOf: (ctx: PeerContext) => string, which: string): Contender {
  return {
    name,
    description: `weft proxy of ${which} (outbound listener, Host: ${SERVICE}) on Node ${process.version}, upstream registered in a weft control --dev`,
    async start(ctx) {
      const [controlPort, outboundPort, adminPort] = await freePorts(3);
      const cli = weftCli(rootOf(ctx));
      const { proc: control, url: controlUrl } = await startDevControl(ctx, cli, controlPort);

      const register = (): Promise<void> =>
        put(`${controlUrl}/api/v1/instances/${INSTANCE_ID}`, { service: SERVICE, host: '127.0.0.1', port: ctx.upstreamPort, ttlMs: TTL_MS });
      try {
        await register();
      } catch (error) {
        await stopProcess(control, 'SIGKILL', 1_000);
        throw error;
      }
      // Renew the lease; re-register if the control plane forgot it (it runs in memory).
      const heartbeat = setInterval(() => {
        put(`${controlUrl}/api/v1/instances/${INSTANCE_ID}/heartbeat`, {}).catch(() => register().catch(() => undefined));
      }, HEARTBEAT_MS);
      heartbeat.unref();

      const proxy = launchSidecar(ctx, cli, 'weft proxy', [
        '--service', 'bench-client', '--outbound', `127.0.0.1:${outboundPort}`, '--admin', `127.0.0.1:${adminPort}`, '--control', controlUrl,
      ]);
      const url = `http://127.0.0.1:${outboundPort}/`;
      // Capitalised: wrk adds its own Host header unless one spelled exactly "Host" is given.
      const headers = { Host: SERVICE };
      try {
        // Ready once a request through the sidecar reaches the upstream: the snapshot has arrived.
        await awaitReady(proxy, url, headers);
      } catch (error) {
        clearInterval(heartbeat);
        await stopProcess(control, 'SIGKILL', 1_000);
        throw error;
      }
      return runningPeer(url, [proxy, control], { headers, measured: [proxy], onStop: () => clearInterval(heartbeat) });
    },
  };
}
