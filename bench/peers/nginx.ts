// Bench peers: the static nginx upstream every HTTP contender forwards to, and nginx as a reverse proxy contender.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, type ManagedProcess } from '../../test/support/index.js';
import { awaitReady, launchPinned, LOAD_CPU, PROXY_CPU, runningPeer, type Contender, type PeerContext, type RunningPeer } from './peer.js';
import { awaitH2Ready } from './readiness.js';

/** One worker, no access log, connections kept alive for the whole run; paths inside `dir` so any user can run it. */
export function nginxConfig(dir: string, name: string, server: string, extraHttp = ''): string {
  const path = (file: string): string => join(dir, file);
  return `worker_processes 1;
pid ${path(`${name}.pid`)};
error_log ${path(`${name}-error.log`)} warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  client_body_temp_path ${path('tmp/client')};
  proxy_temp_path ${path('tmp/proxy')};
  fastcgi_temp_path ${path('tmp/fastcgi')};
  uwsgi_temp_path ${path('tmp/uwsgi')};
  scgi_temp_path ${path('tmp/scgi')};
${extraHttp}
  server {
${server}
  }
}
`;
}

/** Starts nginx with `config` on `cpu`, its files under the work dir; ready once `ready` (by default: an HTTP/1.1 GET of `url` answers 200) says so. */
export async function startNginx(
  ctx: Pick<PeerContext, 'tools' | 'workDir'>,
  name: string,
  cpu: number,
  config: string,
  url: string,
  ready: (proc: ManagedProcess) => Promise<void> = (proc) => awaitReady(proc, url),
): Promise<RunningPeer> {
  const dir = join(ctx.workDir, name);
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const file = join(dir, 'nginx.conf');
  await writeFile(file, config);
  const proc = launchPinned(ctx.tools, cpu, ctx.tools.nginx, ['-p', dir, '-e', join(dir, 'startup-error.log'), '-c', file, '-g', 'daemon off;'], { name });
  await ready(proc);
  return runningPeer(url, [proc]);
}

/**
 * The upstream: a static reply, so that the proxy, not the upstream, is what limits throughput. With `h2Port`
 * (the h2 bench) the same process serves the same reply in cleartext HTTP/2 there too.
 */
export async function startUpstream(ctx: Omit<PeerContext, 'upstreamPort' | 'upstreamProcesses'>, h2Port?: number): Promise<RunningPeer> {
  const port = await freePort();
  const dir = join(ctx.workDir, 'upstream');
  // nginx 1.22: a cleartext `http2` listener speaks HTTP/2 with prior knowledge only; it serves no HTTP/1.1.
  const h2Server = h2Port === undefined ? '' : `  server {
    listen 127.0.0.1:${h2Port} http2 backlog=4096;
    location / { return 200 "hello world!\\n"; }
  }`;
  const config = nginxConfig(dir, 'upstream', `    listen 127.0.0.1:${port} backlog=4096;
    location / { return 200 "hello world!\\n"; }`, h2Server);
  const url = `http://127.0.0.1:${port}/`;
  return startNginx(ctx, 'upstream', LOAD_CPU, config, url, async (proc) => {
    await awaitReady(proc, url);
    if (h2Port !== undefined) await awaitH2Ready(proc, `http://127.0.0.1:${h2Port}/`);
  });
}

export const nginxProxy: Contender = {
  name: 'nginx-proxy',
  description: 'nginx, 1 worker, proxy_pass to an upstream block with keepalive 64, HTTP/1.1 upstream connections',
  async start(ctx) {
    const port = await freePort();
    const dir = join(ctx.workDir, 'nginx-proxy');
    const upstream = `  upstream bench_upstream {
    server 127.0.0.1:${ctx.upstreamPort};
    keepalive 64;
    keepalive_requests 10000000;
  }`;
    const server = `    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }`;
    return startNginx(ctx, 'nginx-proxy', PROXY_CPU, nginxConfig(dir, 'nginx-proxy', server, upstream), `http://127.0.0.1:${port}/`);
  },
};
