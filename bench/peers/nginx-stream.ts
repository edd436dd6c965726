// Bench peer: nginx as a tcp bench peer — the stream module relaying each connection to the echo upstream.
import { join } from 'node:path';
import { freePort } from '../../test/support/index.js';
import { startNginx } from './nginx.js';
import { PROXY_CPU, type Contender } from './peer.js';
import { awaitEchoReady } from './readiness.js';

export const nginxStream: Contender = {
  name: 'nginx-stream',
  description: 'nginx, 1 worker, stream module: `proxy_pass` of each connection to the echo upstream (a new upstream connection per client connection)',
  async start(ctx) {
    const module = ctx.tools.nginxStream;
    if (module === undefined) throw new Error('nginx-stream: no nginx stream module was found (bench/tools.ts looks for it in the tcp bench)');
    const port = await freePort();
    const dir = join(ctx.workDir, 'nginx-stream');
    const path = (file: string): string => join(dir, file);
    // No http block: nothing but the relay runs. tcp_nodelay is on by default in stream servers.
    const config = `${module === 'built-in' ? '' : `load_module ${module.load};\n`}worker_processes 1;
pid ${path('nginx-stream.pid')};
error_log ${path('nginx-stream-error.log')} warn;
events { worker_connections 4096; }
stream {
  server {
    listen 127.0.0.1:${port} backlog=4096;
    proxy_pass 127.0.0.1:${ctx.upstreamPort};
  }
}
`;
    const url = `tcp://127.0.0.1:${port}`;
    return startNginx(ctx, 'nginx-stream', PROXY_CPU, config, url, (proc) => awaitEchoReady(proc, url));
  },
};
