// Bench peers: the static nginx upstream every contender forwards to, and nginx as a reverse proxy contender.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../test/support/index.js';
import { awaitReady, launchPinned, LOAD_CPU, PROXY_CPU, runningPeer, type Contender, type PeerContext, type RunningPeer } from './peer.js';

/** One worker, no access log, connections kept alive for the whole run; paths inside `dir` so any user can run it. */
function nginxConfig(dir: string, name: string, server: string, extraHttp = ''): string {
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

async function startNginx(ctx: PeerContext, name: string, cpu: number, config: string, port: number): Promise<RunningPeer> {
  const dir = join(ctx.workDir, name);
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const file = join(dir, 'nginx.conf');
  await writeFile(file, config);
  const proc = launchPinned(ctx.tools, cpu, ctx.tools.nginx, ['-p', dir, '-e', join(dir, 'startup-error.log'), '-c', file, '-g', 'daemon off;'], { name });
  const url = `http://127.0.0.1:${port}/`;
  await awaitReady(proc, url);
  return runningPeer(url, [proc]);
}

/** The upstream: a static reply, so that the proxy, not the upstream, is what limits throughput. */
export async function startUpstream(ctx: Omit<PeerContext, 'upstreamPort' | 'upstreamProcesses'>): Promise<RunningPeer> {
  const port = await freePort();
  const dir = join(ctx.workDir, 'upstream');
  const config = nginxConfig(dir, 'upstream', `    listen 127.0.0.1:${port} backlog=4096;
    location / { return 200 "hello world!\\n"; }`);
  return startNginx({ ...ctx, upstreamPort: port, upstreamProcesses: [] }, 'upstream', LOAD_CPU, config, port);
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
    return startNginx(ctx, 'nginx-proxy', PROXY_CPU, nginxConfig(dir, 'nginx-proxy', server, upstream), port);
  },
};
