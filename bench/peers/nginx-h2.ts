// Bench peer: nginx as the h2 bench's peer — a cleartext http2 listener proxying to the HTTP/1.1 upstream over kept-alive connections.
import { join } from 'node:path';
import { freePort } from '../../test/support/index.js';
import { nginxConfig, startNginx } from './nginx.js';
import { PROXY_CPU, type Contender } from './peer.js';
import { awaitH2Ready } from './readiness.js';

export const nginxH2: Contender = {
  name: 'nginx-h2',
  description: 'nginx, 1 worker, `listen … http2` (h2c), proxy_pass to an upstream block with keepalive 64, HTTP/1.1 upstream connections',
  async start(ctx) {
    const port = await freePort();
    const dir = join(ctx.workDir, 'nginx-h2');
    const upstream = `  upstream bench_upstream {
    server 127.0.0.1:${ctx.upstreamPort};
    keepalive 64;
    keepalive_requests 10000000;
  }`;
    const server = `    listen 127.0.0.1:${port} http2 backlog=4096;
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }`;
    const url = `http://127.0.0.1:${port}/`;
    return startNginx(ctx, 'nginx-h2', PROXY_CPU, nginxConfig(dir, 'nginx-h2', server, upstream), url, (proc) => awaitH2Ready(proc, url));
  },
};
