// Bench (registry): a load process holding W watchers and recording when each saw each tagged write.
import { openEtcdWatchers } from './etcd-watchers.js';
import { LatencyMatrix } from './latency-matrix.js';
import { openWeftWatchers, type WatcherSet } from './weft-watchers.js';
import type { WatchCommand, WatchCounters, WatchReply } from './worker-messages.js';

const counters: WatchCounters = { reconnects: 0, resets: 0, errors: 0, bytes: 0, lines: 0 };
let matrix: LatencyMatrix | undefined;
let watchers: WatcherSet | undefined;

const reply = (message: WatchReply): void => void process.send?.(message);

process.on('message', (command: WatchCommand) => {
  if (command.type === 'watch') {
    matrix = new LatencyMatrix(command.capacity, command.watchers);
    const opened =
      command.target.kind === 'weft'
        ? openWeftWatchers(command.target, command.watchers, command.since, matrix, counters)
        : openEtcdWatchers(command.target.endpoints, command.watchers, command.etcdClients, matrix, counters);
    opened.then(
      (set) => {
        watchers = set;
        reply({ type: 'ready', connected: command.watchers });
      },
      (error: unknown) => reply({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
    );
  } else if (matrix === undefined) {
    reply({ type: 'failed', message: `${command.type} before watch` });
  } else if (command.type === 'unseen') {
    reply({ type: 'unseen', unseen: matrix.unseen(command.from, command.to) });
  } else {
    reply({ type: 'collect', latencies: matrix.rows(command.from, command.to), watchers: matrix.watchers, counters: { ...counters } });
  }
});
process.once('disconnect', () => {
  watchers?.close();
  process.exit(0);
});
