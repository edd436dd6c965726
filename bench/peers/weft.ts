// Bench peer: the weft contender — a dev control plane with the upstream registered, and one outbound-only sidecar.
import { awaitReady, runningPeer, type Contender, type PeerContext } from './peer.js';
import { weftCli } from './weft-control.js';
import { startOutboundSidecar } from './weft-outbound.js';

export const SERVICE = 'bench-upstream';
export const INSTANCE_ID = 'bench-upstream-1';

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
      const sidecar = await startOutboundSidecar(ctx, weftCli(rootOf(ctx)), { id: INSTANCE_ID, service: SERVICE, port: ctx.upstreamPort });
      const url = sidecar.outboundUrl;
      // Capitalised: wrk adds its own Host header unless one spelled exactly "Host" is given.
      const headers = { Host: SERVICE };
      try {
        // Ready once a request through the sidecar reaches the upstream: the snapshot has arrived.
        await awaitReady(sidecar.proxy, url, headers);
      } catch (error) {
        await sidecar.abandon();
        throw error;
      }
      return runningPeer(url, [sidecar.proxy, sidecar.control], { headers, measured: [sidecar.proxy], onStop: sidecar.stopHeartbeat });
    },
  };
}
