// Bench load: one load run against a contender with the protocol's load generator — wrk (http1), h2load (h2), or the echo load (tcp).
import { join } from 'node:path';
import type { BenchOptions } from '../options.js';
import type { RunningPeer } from '../peers/peer.js';
import type { Tools } from '../tools.js';
import { runH2load } from './h2load.js';
import type { LoadResult } from './load-result.js';
import { runTcpLoad } from './tcp-load.js';
import { runWrk } from './wrk.js';

export interface LoadSetting {
  tools: Tools;
  /** The CPU the load generator is pinned to. */
  cpu: number;
  repoRoot: string;
  /** Where h2load's per-request logs go. */
  workDir: string;
  options: Pick<BenchOptions, 'protocol' | 'streams' | 'messageBytes'>;
}

export interface LoadRun {
  peer: RunningPeer;
  connections: number;
  durationSec: number;
  /** Requests (tcp: round trips) per second over all connections; 0 saturates. */
  rate: number;
}

let runs = 0;

export function runLoad(setting: LoadSetting, run: LoadRun): Promise<LoadResult> {
  const { tools, cpu, options } = setting;
  const { peer, connections, durationSec, rate } = run;
  switch (options.protocol) {
    case 'http1':
      return runWrk(tools, cpu, {
        url: peer.url,
        headers: peer.headers,
        connections,
        durationSec,
        ...(rate > 0 ? { rate: { requestsPerSec: rate, script: join(setting.repoRoot, 'bench', 'paced.lua') } } : {}),
      });
    case 'h2':
      return runH2load(tools, cpu, {
        url: peer.url,
        headers: peer.headers,
        connections,
        streams: options.streams,
        durationSec,
        // h2load paces each connection; the total rate is spread evenly over them.
        ...(rate > 0 ? { requestsPerSecPerConnection: rate / connections } : {}),
        logFile: join(setting.workDir, `h2load-${++runs}.log`),
      });
    case 'tcp':
      return runTcpLoad(tools, cpu, setting.repoRoot, { url: peer.url, connections, durationSec, messageBytes: options.messageBytes, rate });
  }
}
