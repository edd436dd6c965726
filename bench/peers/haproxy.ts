// Bench peer: HAProxy as a reverse proxy contender, one thread, HTTP mode, upstream connections reused.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../test/support/index.js';
import { awaitReady, launchPinned, PROXY_CPU, runningPeer, type Contender } from './peer.js';

export const haproxy: Contender = {
  name: 'haproxy',
  description: 'HAProxy, nbthread 1, mode http, http-reuse always',
  async start(ctx) {
    const port = await freePort();
    const file = join(ctx.workDir, 'haproxy.cfg');
    await writeFile(
      file,
      `global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  http-reuse always
frontend bench
  bind 127.0.0.1:${port}
  default_backend upstream
backend upstream
  server up 127.0.0.1:${ctx.upstreamPort} maxconn 1000
`,
    );
    // -db: stay in the foreground and log to stderr, so the harness owns the process.
    const proc = launchPinned(ctx.tools, PROXY_CPU, ctx.tools.haproxy, ['-db', '-f', file], { name: 'haproxy' });
    const url = `http://127.0.0.1:${port}/`;
    await awaitReady(proc, url);
    return runningPeer(url, [proc]);
  },
};
