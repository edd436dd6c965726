// Bench peers: HAProxy as a contender — one thread, HTTP mode with upstream connections reused; and how any HAProxy of the bench is started.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, type ManagedProcess } from '../../test/support/index.js';
import { awaitReady, launchPinned, PROXY_CPU, runningPeer, type Contender, type PeerContext, type RunningPeer } from './peer.js';

export const haproxy: Contender = {
  name: 'haproxy',
  description: 'HAProxy, nbthread 1, mode http, http-reuse always',
  async start(ctx) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    return startHaproxy(
      ctx,
      'haproxy',
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
      url,
      (proc) => awaitReady(proc, url),
    );
  },
};

/** Starts HAProxy with `config` on the proxy's CPU; ready once `ready` says so. */
export async function startHaproxy(
  ctx: PeerContext,
  name: string,
  config: string,
  url: string,
  ready: (proc: ManagedProcess) => Promise<void>,
): Promise<RunningPeer> {
  const file = join(ctx.workDir, `${name}.cfg`);
  await writeFile(file, config);
  // -db: stay in the foreground and log to stderr, so the harness owns the process.
  const proc = launchPinned(ctx.tools, PROXY_CPU, ctx.tools.haproxy, ['-db', '-f', file], { name });
  await ready(proc);
  return runningPeer(url, [proc]);
}
