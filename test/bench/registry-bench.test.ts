// Smoke run of `npm run bench -- registry` at tiny sizes: it runs end to end on an authenticated and a --dev control plane and reports every column.
import { describe, expect, it } from 'vitest';
import { FIGURE, requireDist, resultsTable, runBench } from './run-bench.js';

/** A few seconds per store; the sizes only have to exercise every phase. */
const TINY = [
  '--instances', '200', '--services', '10', '--watchers', '10', '--watch-processes', '1',
  '--writes', '10', '--rate', '100', '--burst', '20', '--concurrency', '8',
];
/** embedded presents the admin token its control plane wrote; memory is `weft control --dev`, which checks none. */
const STORES = ['embedded', 'memory'];
const COLUMNS = [
  'store', 'reg/s', 'reg p50 ms', 'reg p99 ms', 'fan-out p50 ms', 'p99 ms', 'max ms', 'all-seen p99 ms',
  'burst p99 ms', 'burst all-seen max ms', 'unseen', 'resets', 'reconnects', 'RSS MB', 'B/instance', 'full state',
];

describe('npm run bench -- registry', () => {
  it('registers, fans writes out to every watcher and reports every column for each store', async () => {
    requireDist();
    const run = await runBench(['registry', ...TINY, '--stores', STORES.join(','), '--no-save'], 120_000);
    expect(run.exit, run.output).toEqual({ code: 0, signal: null });
    const table = resultsTable(run.stdout);
    expect(table.header).toEqual(expect.arrayContaining(COLUMNS));
    expect([...table.rows.keys()]).toEqual(STORES);
    for (const store of STORES) {
      const row = table.rows.get(store)!;
      for (const column of COLUMNS.filter((name) => name !== 'store' && name !== 'full state')) {
        expect(row.get(column), `${store}: ${column}\n${run.output}`).toMatch(FIGURE);
      }
      // Every watcher saw every tagged write: the watch streams were accepted and fed.
      expect(row.get('unseen'), `${store}\n${run.output}`).toBe('0');
      expect(row.get('full state'), `${store}\n${run.output}`).toMatch(/^\d+ MB in \d+ ms$/);
    }
  }, 150_000);
});
