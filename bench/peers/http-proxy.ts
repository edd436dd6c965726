// Bench peer: the Node http-proxy contender, run as its own process from http-proxy-server.js.
import { join } from 'node:path';
import { freePort } from '../../test/support/index.js';
import { awaitReady, launchPinned, PROXY_CPU, runningPeer, type Contender } from './peer.js';

export const nodeHttpProxy: Contender = {
  name: 'http-proxy',
  description: `Node ${process.version} http-proxy 1.18 with a keep-alive agent (maxSockets 64)`,
  async start(ctx) {
    const port = await freePort();
    const script = join(ctx.repoRoot, 'bench', 'peers', 'http-proxy-server.js');
    const proc = launchPinned(ctx.tools, PROXY_CPU, process.execPath, [script, String(port), String(ctx.upstreamPort)], {
      name: 'http-proxy',
      cwd: ctx.repoRoot,
    });
    const url = `http://127.0.0.1:${port}/`;
    await awaitReady(proc, url);
    return runningPeer(url, [proc]);
  },
};
