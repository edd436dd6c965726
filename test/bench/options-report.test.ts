// Tests of the bench's flags and of its results table (flags for runs with errors, ratios, paced columns).
import { describe, expect, it } from 'vitest';
import type { MachineInfo } from '../../bench/machine.js';
import { parseBenchOptions } from '../../bench/options.js';
import { markdownReport, resultsTable, type BenchReport } from '../../bench/report.js';
import { summarise } from '../../bench/stats.js';

describe('bench options', () => {
  it('defaults to 3 rounds of 10 s at 50 connections, every contender', () => {
    expect(parseBenchOptions([], '/r')).toMatchObject({ rounds: 3, duration: 10, connections: 50, rate: 5000, resultsDir: '/r' });
  });

  it('--quick shortens, explicit flags win, --contenders keeps direct and the canonical order', () => {
    const options = parseBenchOptions(['--quick', '--rounds', '4', '--contenders', 'haproxy,weft', '--no-save'], '/r');
    expect(options).toMatchObject({ rounds: 4, duration: 3, warmup: 1, contenders: ['direct', 'weft', 'haproxy'], resultsDir: undefined });
  });

  it('rejects bad values with the flag named', () => {
    expect(() => parseBenchOptions(['--rounds', '0'], '/r')).toThrow(/--rounds: expected an integer from 1/);
    expect(() => parseBenchOptions(['--contenders', 'envoy'], '/r')).toThrow(/unknown contender "envoy"/);
    expect(() => parseBenchOptions(['--bogus'], '/r')).toThrow(/bogus/);
  });
});

describe('bench report', () => {
  const run = (requestsPerSec: number, non2xx = 0) => ({ requestsPerSec, requests: 1, p50Ms: 0.5, p99Ms: 1, non2xx, socketErrors: 0 });
  const machine: MachineInfo = {
    cpuCount: 2, cpuModel: 'cpu', memoryGiB: 1, os: 'linux', node: 'v20', loadAverage: 0, pinned: true, tools: { wrk: 'wrk 4' }, commit: 'abc',
  };
  const report = (rate: number): BenchReport => ({
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    machine,
    parameters: { rounds: 1, duration: 1, connections: 50, warmup: 0, rate, pacedConnections: 20, contenders: ['direct', 'weft'], threads: 1, wrkCpu: 0, upstreamCpu: 0, proxyCpu: 1 },
    contenders: summarise([
      { name: 'direct', description: 'no proxy', throughput: [run(1000)], paced: rate > 0 ? [run(50)] : [] },
      { name: 'weft', description: 'sidecar', throughput: [run(500, 3)], paced: rate > 0 ? [run(50)] : [] },
    ]),
    notes: [],
  });

  it('flags a contender whose runs had errors and gives ratios', () => {
    const lines = resultsTable(report(5000)).split('\n');
    expect(lines[0]).toContain('paced p99 ms');
    expect(lines[3]).toMatch(/^\| weft ! .*0\.50×.*3 non-2xx, 0 socket \|$/);
    expect(new Set(lines.map((line) => line.length)).size).toBe(1);
  });

  it('leaves out the paced columns when paced runs were skipped, and describes the method', () => {
    expect(resultsTable(report(0))).not.toContain('paced');
    const md = markdownReport(report(0));
    expect(md).toContain('Medians of 1 interleaved rounds');
    expect(md).toContain('the proxy under test alone on cpu1');
  });
});
