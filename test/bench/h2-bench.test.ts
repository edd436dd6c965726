// Smoke run of `npm run bench -- --protocol h2` at its smallest: one short round of every h2 contender, every column reported.
import { describe, expect, it } from 'vitest';
import { requireBinary } from '../support/index.js';
import { FIGURE, requireDist, resultsTable, runBench } from './run-bench.js';

/** One 1-second round, no warm-up, a light paced run: seconds, not minutes. */
const SMALLEST = ['--protocol', 'h2', '--quick', '--rounds', '1', '--duration', '1', '--warmup', '0', '--rate', '200', '--no-save'];
const CONTENDERS = ['direct-h2', 'weft-h2', 'weft-h2-upstream', 'nginx-h2'];
const COLUMNS = ['contender', 'req/s', 'p50 ms', 'p99 ms', 'vs direct', 'vs best peer', 'paced p50 ms', 'paced p99 ms', 'added p99 ms', 'CPU µs/req', 'peak RSS MiB', 'errors'];
/** direct-h2 adds nothing to itself: its added p99 is a dash. */
const FIGURES = COLUMNS.filter((name) => !['contender', 'added p99 ms', 'errors'].includes(name));

const h2load = await requireBinary('h2load', { aptPackage: 'nghttp2-client', purpose: 'the h2 bench smoke run (load generator)' });
const nginx = await requireBinary('nginx', { aptPackage: 'nginx', purpose: 'the h2 bench smoke run (upstream and nginx-h2)' });

describe.skipIf(h2load === undefined || nginx === undefined)('npm run bench -- --protocol h2', () => {
  it('runs every h2 contender through throughput and paced runs and reports every column', async () => {
    requireDist();
    const run = await runBench(SMALLEST, 120_000);
    expect(run.exit, run.output).toEqual({ code: 0, signal: null });
    const table = resultsTable(run.stdout);
    expect(table.header).toEqual(COLUMNS);
    expect([...table.rows.keys()]).toEqual(CONTENDERS);
    for (const name of CONTENDERS) {
      const row = table.rows.get(name)!;
      for (const column of FIGURES) expect(row.get(column), `${name}: ${column}\n${run.output}`).toMatch(FIGURE);
      expect(row.get('errors'), `${name}\n${run.output}`).toBe('0');
      if (name !== 'direct-h2') expect(row.get('added p99 ms'), `${name}\n${run.output}`).toMatch(FIGURE);
    }
    expect(run.stdout).toContain('vs best peer: relative to nginx-h2, the one peer in this run.');
  }, 240_000);
});
