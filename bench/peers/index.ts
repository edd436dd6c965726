// Bench peers: the upstream and the contenders, in the order they run in each round.
import type { ContenderName } from '../options.js';
import { nodeHttpProxy } from './http-proxy.js';
import { haproxy } from './haproxy.js';
import { nginxProxy, startUpstream } from './nginx.js';
import { runningPeer, type Contender } from './peer.js';
import { weft, weftBaseline } from './weft.js';
import { weftPair } from './weft-pair.js';

export { startUpstream };
export { LOAD_CPU, PROXY_CPU, type Contender, type PeerContext, type RunningPeer } from './peer.js';

/** No proxy: wrk talks to the upstream itself; the baseline of every ratio. Its CPU and memory are the upstream's. */
const direct: Contender = {
  name: 'direct',
  description: 'wrk straight to the upstream, no proxy (CPU and RSS: the upstream nginx itself)',
  start: (ctx) => Promise.resolve(runningPeer(`http://127.0.0.1:${ctx.upstreamPort}/`, [], { measured: ctx.upstreamProcesses })),
};

export const CONTENDERS: Readonly<Record<ContenderName, Contender>> = {
  direct,
  weft,
  'weft-baseline': weftBaseline,
  'weft-pair': weftPair,
  'nginx-proxy': nginxProxy,
  haproxy,
  'http-proxy': nodeHttpProxy,
};
