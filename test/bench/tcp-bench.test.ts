// Smoke run of `npm run bench -- --protocol tcp` at its smallest: one short round of every tcp contender, every column reported.
import { describe, expect, it } from 'vitest';
import { requireBinary } from '../support/index.js';
import { requireStreamModule } from './require-stream-module.js';
import { FIGURE, requireDist, resultsTable, runBench } from './run-bench.js';

/** One 1-second round, no warm-up, a light paced run: seconds, not minutes. */
const SMALLEST = ['--protocol', 'tcp', '--quick', '--rounds', '1', '--duration', '1', '--warmup', '0', '--rate', '200', '--no-save'];
const CONTENDERS = ['direct-tcp', 'weft-tcp', 'nginx-stream', 'haproxy-tcp'];
const COLUMNS = ['contender', 'rt/s', 'p50 ms', 'p99 ms', 'vs direct', 'vs best peer', 'paced p50 ms', 'paced p99 ms', 'added p99 ms', 'CPU µs/rt', 'peak RSS MiB', 'errors'];
/** direct-tcp adds nothing to itself: its added p99 is a dash. */
const FIGURES = COLUMNS.filter((name) => !['contender', 'added p99 ms', 'errors'].includes(name));

const nginx = await requireBinary('nginx', { aptPackage: 'nginx', purpose: 'the tcp bench smoke run (nginx-stream)' });
const haproxy = await requireBinary('haproxy', { aptPackage: 'haproxy', purpose: 'the tcp bench smoke run (haproxy-tcp)' });
const stream = nginx === undefined ? undefined : await requireStreamModule(nginx, 'the tcp bench smoke run (nginx-stream)');

describe.skipIf(nginx === undefined || haproxy === undefined || stream === undefined)('npm run bench -- --protocol tcp', () => {
  it('runs every tcp contender through throughput and paced runs and reports every column', async () => {
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
      if (name !== 'direct-tcp') expect(row.get('added p99 ms'), `${name}\n${run.output}`).toMatch(FIGURE);
    }
    expect(run.stdout).toMatch(/vs best peer: relative to (nginx-stream|haproxy-tcp)/);
  }, 240_000);
});
