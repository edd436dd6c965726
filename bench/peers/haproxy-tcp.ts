// Bench peer: HAProxy as a tcp bench peer — one thread, mode tcp, each connection relayed to the echo upstream.
import { freePort } from '../../test/support/index.js';
import { startHaproxy } from './haproxy.js';
import type { Contender } from './peer.js';
import { awaitEchoReady } from './readiness.js';

export const haproxyTcp: Contender = {
  name: 'haproxy-tcp',
  description: 'HAProxy, nbthread 1, mode tcp (a new upstream connection per client connection)',
  async start(ctx) {
    const port = await freePort();
    const url = `tcp://127.0.0.1:${port}`;
    return startHaproxy(
      ctx,
      'haproxy-tcp',
      `global
  nbthread 1
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend bench
  bind 127.0.0.1:${port}
  default_backend echo
backend echo
  server echo 127.0.0.1:${ctx.upstreamPort} maxconn 1000
`,
      url,
      (proc) => awaitEchoReady(proc, url),
    );
  },
};
