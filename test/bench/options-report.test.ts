// Tests of the bench's flags (per protocol) and of its results tables: HTTP/1.1's (errors flagged, ratios, paced columns), and h2's and tcp's against the best peer.
import { describe, expect, it } from 'vitest';
import type { MachineInfo } from '../../bench/machine.js';
import { parseBenchOptions } from '../../bench/options.js';
import { bestPeerLine, protocolMarkdown, protocolResultsTable, type ProtocolReport } from '../../bench/protocol-report.js';
import { markdownReport, resultsTable, type BenchReport } from '../../bench/report.js';
import { bestPeer, summarise } from '../../bench/stats.js';

describe('bench options', () => {
  it('defaults to 3 rounds of 10 s at 50 connections, every contender', () => {
    expect(parseBenchOptions([], '/r')).toMatchObject({ rounds: 3, duration: 10, connections: 50, rate: 5000, resultsDir: '/r' });
  });

  it('--quick shortens, explicit flags win, --contenders keeps direct and the canonical order', () => {
    const options = parseBenchOptions(['--quick', '--rounds', '4', '--contenders', 'haproxy,weft', '--no-save'], '/r');
    expect(options).toMatchObject({ rounds: 4, duration: 3, warmup: 1, contenders: ['direct', 'weft', 'haproxy'], resultsDir: undefined });
  });

  it('--protocol picks the contenders, the baseline always first, and the defaults of its load', () => {
    expect(parseBenchOptions([], '/r')).toMatchObject({ protocol: 'http1' });
    expect(parseBenchOptions(['--protocol', 'h2'], '/r')).toMatchObject({
      protocol: 'h2', connections: 10, streams: 10, pairRate: 0, contenders: ['direct-h2', 'weft-h2', 'weft-h2-upstream', 'nginx-h2'],
    });
    expect(parseBenchOptions(['--protocol', 'tcp', '--contenders', 'haproxy-tcp,weft-tcp', '--message-bytes', '512'], '/r')).toMatchObject({
      protocol: 'tcp', connections: 50, messageBytes: 512, contenders: ['direct-tcp', 'weft-tcp', 'haproxy-tcp'],
    });
  });

  it("refuses another protocol's flags and contenders", () => {
    expect(() => parseBenchOptions(['--protocol', 'h3'], '/r')).toThrow(/--protocol: expected one of http1, h2, tcp/);
    expect(() => parseBenchOptions(['--streams', '5'], '/r')).toThrow(/--streams applies to --protocol h2 only/);
    expect(() => parseBenchOptions(['--protocol', 'h2', '--message-bytes', '5'], '/r')).toThrow(/--message-bytes applies to --protocol tcp only/);
    expect(() => parseBenchOptions(['--protocol', 'tcp', '--pair-rate', '5'], '/r')).toThrow(/--pair-rate applies to --protocol http1 only/);
    expect(() => parseBenchOptions(['--protocol', 'tcp', '--contenders', 'weft'], '/r')).toThrow(/unknown contender "weft"/);
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

describe('h2 and tcp bench report', () => {
  const run = (requestsPerSec: number, p99Ms = 1) => ({ requestsPerSec, requests: 1, p50Ms: 0.5, p99Ms, non2xx: 0, socketErrors: 0 });
  const machine: MachineInfo = {
    cpuCount: 2, cpuModel: 'cpu', memoryGiB: 1, os: 'linux', node: 'v20', loadAverage: 0, pinned: true, tools: { nginx: 'nginx/1.22' }, commit: 'abc',
  };
  const summaries = summarise(
    [
      { name: 'direct-tcp', description: 'no proxy', throughput: [run(1000)], paced: [run(200, 0.4)] },
      { name: 'weft-tcp', description: 'sidecar', throughput: [run(300)], paced: [run(200, 1.4)] },
      { name: 'nginx-stream', description: 'nginx', throughput: [run(400)], paced: [run(200, 0.6)] },
      { name: 'haproxy-tcp', description: 'haproxy', throughput: [{ ...run(600), non2xx: 2 }], paced: [run(200, 0.5)] },
    ],
    { direct: 'direct-tcp' },
  );
  const best = bestPeer(summaries, ['nginx-stream', 'haproxy-tcp']);
  const report: ProtocolReport = {
    protocol: 'tcp',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    machine,
    parameters: {
      rounds: 1, duration: 1, connections: 50, messageBytes: 64, warmup: 0, rate: 200, pacedConnections: 20,
      contenders: ['direct-tcp', 'weft-tcp', 'nginx-stream', 'haproxy-tcp'], loadCpu: 0, upstreamCpu: 0, proxyCpu: 1,
    },
    bestPeer: best?.name,
    peers: ['nginx-stream', 'haproxy-tcp'],
    contenders: summaries.map((c) => ({ ...c, vsBestPeer: best === undefined ? undefined : c.requestsPerSec / best.requestsPerSec })),
    notes: [],
  };

  it('takes ratios to direct and to the fastest peer, and the added p99 over direct', () => {
    const lines = protocolResultsTable(report).split('\n');
    expect(lines[0]).toMatch(/^\| contender +\| +rt\/s \|.*\| vs best peer \|.*\| CPU µs\/rt \|/);
    expect(lines[3]).toMatch(/^\| weft-tcp .*0\.30× \| +0\.50× \|.*\| +\+1\.00 \|/);
    expect(lines[5]).toMatch(/^\| haproxy-tcp ! .*1\.00× \|.*2 bad echoes, 0 socket \|$/);
    expect(new Set(lines.map((line) => line.length)).size).toBe(1);
    expect(bestPeerLine(report)).toBe('vs best peer: relative to haproxy-tcp, the highest median rt/s of nginx-stream, haproxy-tcp.');
  });

  it('describes its method in the Markdown', () => {
    const md = protocolMarkdown(report);
    expect(md).toContain('# weft bench (tcp)');
    expect(md).toContain('each sending 64 bytes');
    expect(md).toContain('the proxy under test alone on cpu1');
  });
});
