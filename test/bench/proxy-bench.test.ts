// Smoke run of `npm run bench` (the HTTP proxy bench) at its smallest: one short round of direct and weft, every column reported.
import { describe, expect, it } from 'vitest';
import { requireBinary } from '../support/index.js';
import { FIGURE, requireDist, resultsTable, runBench } from './run-bench.js';

/** One 1-second round, no warm-up, a light paced run: seconds, not minutes. */
const SMALLEST = ['--quick', '--rounds', '1', '--duration', '1', '--warmup', '0', '--rate', '200', '--contenders', 'weft', '--no-save'];
/** direct always runs: the ratios are relative to it. */
const CONTENDERS = ['direct', 'weft'];
const COLUMNS = ['contender', 'req/s', 'p50 ms', 'p99 ms', 'vs direct', 'vs nginx', 'paced p50 ms', 'paced p99 ms', 'added p99 ms', 'CPU µs/req', 'peak RSS MiB', 'errors'];
/** vs nginx has no nginx-proxy to compare with here, and direct adds nothing to itself. */
const FIGURES = ['req/s', 'p50 ms', 'p99 ms', 'vs direct', 'paced p50 ms', 'paced p99 ms', 'CPU µs/req', 'peak RSS MiB'];

// The bench looks for all three whichever contenders run (bench/tools.ts).
const wrk = await requireBinary('wrk', { aptPackage: 'wrk', purpose: 'the proxy bench smoke run (load generator)' });
const nginx = await requireBinary('nginx', { aptPackage: 'nginx', purpose: 'the proxy bench smoke run (upstream)' });
const haproxy = await requireBinary('haproxy', { aptPackage: 'haproxy', purpose: 'the proxy bench smoke run (a contender it checks for)' });

describe.skipIf(wrk === undefined || nginx === undefined || haproxy === undefined)('npm run bench', () => {
  it('runs direct and weft through throughput and paced runs and reports every column', async () => {
    requireDist();
    const run = await runBench(SMALLEST, 120_000);
    expect(run.exit, run.output).toEqual({ code: 0, signal: null });
    const table = resultsTable(run.stdout);
    expect(table.header).toEqual(expect.arrayContaining(COLUMNS));
    expect([...table.rows.keys()]).toEqual(CONTENDERS);
    for (const name of CONTENDERS) {
      const row = table.rows.get(name)!;
      for (const column of FIGURES) expect(row.get(column), `${name}: ${column}\n${run.output}`).toMatch(FIGURE);
      expect(row.get('errors'), `${name}\n${run.output}`).toBe('0');
    }
    expect(table.rows.get('weft')?.get('added p99 ms')).toMatch(FIGURE);
  }, 150_000);
});
