// Bench peers: each protocol's upstream and the contenders, in the order they run in each round.
import { freePort } from '../../test/support/index.js';
import type { BenchProtocol, ContenderName } from '../options.js';
import { nodeHttpProxy } from './http-proxy.js';
import { haproxy } from './haproxy.js';
import { haproxyTcp } from './haproxy-tcp.js';
import { nginxProxy, startUpstream } from './nginx.js';
import { nginxH2 } from './nginx-h2.js';
import { nginxStream } from './nginx-stream.js';
import { runningPeer, type Contender, type PeerContext, type RunningPeer } from './peer.js';
import { startEchoUpstream } from './tcp-echo.js';
import { weft, weftBaseline } from './weft.js';
import { weftH2, weftH2Upstream } from './weft-h2.js';
import { weftPair } from './weft-pair.js';
import { weftTcp } from './weft-tcp.js';

export { startUpstream };
export { LOAD_CPU, PROXY_CPU, type Contender, type PeerContext, type RunningPeer } from './peer.js';

/** No proxy: wrk talks to the upstream itself; the baseline of every ratio. Its CPU and memory are the upstream's. */
const direct: Contender = {
  name: 'direct',
  description: 'wrk straight to the upstream, no proxy (CPU and RSS: the upstream nginx itself)',
  start: (ctx) => Promise.resolve(runningPeer(`http://127.0.0.1:${ctx.upstreamPort}/`, [], { measured: ctx.upstreamProcesses })),
};

/** h2load straight to the upstream's cleartext http2 port (checked to answer h2c as the upstream started): the h2 bench's baseline. */
const directH2: Contender = {
  name: 'direct-h2',
  description: "h2load straight to the upstream nginx's http2 port (h2c), no proxy (CPU and RSS: the upstream nginx itself)",
  start(ctx) {
    if (ctx.upstreamH2Port === undefined) return Promise.reject(new Error('direct-h2: the upstream has no http2 port (it runs in the h2 bench only)'));
    return Promise.resolve(runningPeer(`http://127.0.0.1:${ctx.upstreamH2Port}/`, [], { measured: ctx.upstreamProcesses }));
  },
};

/** The echo load straight to the echo server: the tcp bench's baseline. */
const directTcp: Contender = {
  name: 'direct-tcp',
  description: 'the echo load straight to the echo upstream, no proxy (CPU and RSS: the Node echo server itself)',
  start: (ctx) => Promise.resolve(runningPeer(`tcp://127.0.0.1:${ctx.upstreamPort}`, [], { measured: ctx.upstreamProcesses })),
};

export const CONTENDERS: Readonly<Record<ContenderName, Contender>> = {
  direct,
  weft,
  'weft-baseline': weftBaseline,
  'weft-pair': weftPair,
  'nginx-proxy': nginxProxy,
  haproxy,
  'http-proxy': nodeHttpProxy,
  'direct-h2': directH2,
  'weft-h2': weftH2,
  'weft-h2-upstream': weftH2Upstream,
  'nginx-h2': nginxH2,
  'direct-tcp': directTcp,
  'weft-tcp': weftTcp,
  'nginx-stream': nginxStream,
  'haproxy-tcp': haproxyTcp,
};

export interface Upstream {
  peer: RunningPeer;
  /** What the contenders are started with. */
  ctx: PeerContext;
  /** One line for the bench's log. */
  summary: string;
}

/** The protocol's upstream, pinned beside the load: the static nginx (with an http2 port too for h2), or the echo server for tcp. */
export async function startUpstreamFor(protocol: BenchProtocol, base: Omit<PeerContext, 'upstreamPort' | 'upstreamProcesses'>): Promise<Upstream> {
  const ctxOf = (peer: RunningPeer, extra: Partial<PeerContext> = {}): PeerContext => ({
    ...base,
    upstreamPort: Number(new URL(peer.url).port),
    upstreamProcesses: peer.processes,
    ...extra,
  });
  if (protocol === 'tcp') {
    const peer = await startEchoUpstream(base);
    return { peer, ctx: ctxOf(peer), summary: `upstream echo server on ${peer.url}` };
  }
  if (protocol === 'h2') {
    const h2Port = await freePort();
    const peer = await startUpstream(base, h2Port);
    return { peer, ctx: ctxOf(peer, { upstreamH2Port: h2Port }), summary: `upstream nginx on ${peer.url}, h2c on port ${h2Port}` };
  }
  const peer = await startUpstream(base);
  return { peer, ctx: ctxOf(peer), summary: `upstream nginx on ${peer.url}` };
}
