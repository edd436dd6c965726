// Bench peers: the tcp bench's upstream — a Node echo server (tcp-echo-server.js) pinned beside the load, as the nginx upstream is in the HTTP benches.
import { join } from 'node:path';
import { freePort } from '../../test/support/index.js';
import { launchPinned, LOAD_CPU, runningPeer, type PeerContext, type RunningPeer } from './peer.js';
import { awaitEchoReady } from './readiness.js';

/** nginx has no echo; a few lines of Node do, and direct-tcp's figures are then this server's own. */
export async function startEchoUpstream(ctx: Pick<PeerContext, 'tools' | 'repoRoot'>): Promise<RunningPeer> {
  const port = await freePort();
  const script = join(ctx.repoRoot, 'bench', 'peers', 'tcp-echo-server.js');
  const proc = launchPinned(ctx.tools, LOAD_CPU, process.execPath, [script, String(port)], { name: 'echo upstream', cwd: ctx.repoRoot });
  const url = `tcp://127.0.0.1:${port}`;
  await awaitEchoReady(proc, url);
  return runningPeer(url, [proc]);
}
