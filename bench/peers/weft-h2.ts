// Bench peers: the h2 bench's weft contenders — h2c into the sidecar's outbound listener, out to the HTTP/1.1 upstream or, registered `protocol: http2`, to nginx's http2 port.
import { awaitH2Ready } from './readiness.js';
import { runningPeer, type Contender, type PeerContext } from './peer.js';
import { SERVICE, INSTANCE_ID } from './weft.js';
import { weftCli } from './weft-control.js';
import { startOutboundSidecar, type BenchInstance } from './weft-outbound.js';

export const weftH2: Contender = weftH2Contender(
  'weft-h2',
  'HTTP/1.1 to the upstream (a keep-alive pool)',
  (ctx) => ({ id: INSTANCE_ID, service: SERVICE, port: ctx.upstreamPort }),
);

export const weftH2Upstream: Contender = weftH2Contender(
  'weft-h2-upstream',
  "h2c to the upstream's http2 port (registered protocol http2: one multiplexed session per endpoint)",
  (ctx) => {
    if (ctx.upstreamH2Port === undefined) throw new Error('weft-h2-upstream: the upstream has no http2 port (it runs in the h2 bench only)');
    return { id: INSTANCE_ID, service: SERVICE, port: ctx.upstreamH2Port, protocol: 'http2' };
  },
);

function weftH2Contender(name: string, upstreamSide: string, instanceOf: (ctx: PeerContext) => BenchInstance): Contender {
  return {
    name,
    description: `weft proxy (outbound listener, h2c with :authority ${SERVICE}) on Node ${process.version}, ${upstreamSide}, registered in a weft control --dev`,
    async start(ctx) {
      const sidecar = await startOutboundSidecar(ctx, weftCli(ctx.repoRoot), instanceOf(ctx));
      const url = sidecar.outboundUrl;
      const headers = { ':authority': SERVICE };
      try {
        // Ready once an h2c request through the sidecar reaches the upstream. For weft-h2-upstream that also proves the
        // sidecar dials h2: nginx's cleartext http2 port would not answer HTTP/1.1.
        await awaitH2Ready(sidecar.proxy, url, SERVICE);
      } catch (error) {
        await sidecar.abandon();
        throw error;
      }
      return runningPeer(url, [sidecar.proxy, sidecar.control], { headers, measured: [sidecar.proxy], onStop: sidecar.stopHeartbeat });
    },
  };
}
