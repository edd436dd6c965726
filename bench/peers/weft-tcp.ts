// Bench peer: the tcp bench's weft contender — `weft proxy --upstream bench-echo:PORT`, the echo upstream registered `protocol: tcp`, relayed in plaintext (the --dev mesh default).
import { runningPeer, type Contender } from './peer.js';
import { awaitEchoReady } from './readiness.js';
import { weftCli } from './weft-control.js';
import { startOutboundSidecar } from './weft-outbound.js';

const SERVICE = 'bench-echo';

export const weftTcp: Contender = {
  name: 'weft-tcp',
  description: `weft proxy --upstream ${SERVICE}:PORT on Node ${process.version} (a connection to the instance per client connection), the echo registered protocol tcp in a weft control --dev`,
  async start(ctx) {
    const instance = { id: `${SERVICE}-1`, service: SERVICE, port: ctx.upstreamPort, protocol: 'tcp' } as const;
    const sidecar = await startOutboundSidecar(ctx, weftCli(ctx.repoRoot), instance, (port) => ['--upstream', `${SERVICE}:${port}`]);
    const url = `tcp://127.0.0.1:${sidecar.sparePort ?? 0}`;
    try {
      // The upstream port opens at once but closes connections until the snapshot holds the echo instance.
      await awaitEchoReady(sidecar.proxy, url);
    } catch (error) {
      await sidecar.abandon();
      throw error;
    }
    return runningPeer(url, [sidecar.proxy, sidecar.control], { measured: [sidecar.proxy], onStop: sidecar.stopHeartbeat });
  },
};
