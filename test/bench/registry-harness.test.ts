// Tests of the registry bench's own logic: flags, percentiles and fan-out summaries, watch-line scanning, the latency matrix.
import { describe, expect, it } from 'vitest';
import { registration, tagMeta, taggedInstance } from '../../bench/registry/bench-instances.js';
import { LatencyMatrix } from '../../bench/registry/latency-matrix.js';
import { fanOut, percentile, summarize } from '../../bench/registry/latency-stats.js';
import { heapUsedFromMetrics } from '../../bench/registry/process-memory.js';
import { parseRegistryOptions } from '../../bench/registry/registry-options.js';
import { scanTags, scanWatchLine, takeLines } from '../../bench/registry/watch-line.js';

describe('registry bench options', () => {
  it('defaults to the issue figures: 100k instances, 1k services, 1k watchers, every store', () => {
    expect(parseRegistryOptions([], '/r')).toMatchObject({
      instances: 100_000, services: 1_000, watchers: 1_000, writes: 200, rate: 20, burst: 1_000, concurrency: 64,
      stores: ['embedded', 'memory', 'etcd', 'etcd-anchor'], resultsDir: '/r',
    });
  });

  it('--quick shrinks, explicit flags win, --stores keeps the canonical order', () => {
    expect(parseRegistryOptions(['--quick', '--watchers', '300', '--stores', 'etcd-anchor,memory', '--no-save'], '/r')).toMatchObject({
      instances: 10_000, services: 100, watchers: 300, stores: ['memory', 'etcd-anchor'], resultsDir: undefined, quick: true,
    });
  });

  it('rejects bad values with the flag named', () => {
    expect(() => parseRegistryOptions(['--instances', '0'], '/r')).toThrow(/--instances: expected an integer from 1/);
    expect(() => parseRegistryOptions(['--stores', 'consul'], '/r')).toThrow(/unknown store "consul"/);
    expect(() => parseRegistryOptions(['--instances', '10', '--services', '20'], '/r')).toThrow(/--services/);
    expect(() => parseRegistryOptions(['--bogus'], '/r')).toThrow(/bogus/);
    expect(parseRegistryOptions(['--help'], '/r')).toBe('help');
  });
});

describe('latency statistics', () => {
  it('takes nearest-rank percentiles and leaves out samples that never arrived', () => {
    const samples = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 100)).toBe(100);
    expect(summarize([3, Number.NaN, 1, 2])).toEqual({ count: 3, p50: 2, p99: 3, max: 3, mean: 2 });
    expect(Number.isNaN(summarize([]).p99)).toBe(true);
  });

  it('fan-out: pairs over every watcher process, the slowest watcher per write, and the unseen pairs', () => {
    // 2 writes; process A has 2 watchers, process B 1 (write-major rows).
    const a = { latencies: Float64Array.from([1, 4, 2, Number.NaN]), watchers: 2 };
    const b = { latencies: Float64Array.from([3, 5]), watchers: 1 };
    const summary = fanOut([a, b], 2);
    expect(summary.pairs).toMatchObject({ count: 5, max: 5 });
    expect(summary.missing).toBe(1);
    // Write 0 was seen by all three (slowest 4 ms); write 1 never reached one watcher, so it has no all-seen time.
    expect(summary.slowestPerWrite).toMatchObject({ count: 1, max: 4 });
  });
});

describe('watch lines', () => {
  const instance = (seq: number) => ({
    id: `inst-${seq}`, service: 'svc-1', host: '10.0.0.1', port: 8080, weight: 1, meta: { zone: 'z1', bseq: String(seq), bsent: '1700000000123.456' },
    tags: [], ttlMs: 3_600_000, health: 'passing',
  });

  it('finds the type, version and tag of an upsert as the server writes it', () => {
    expect(scanWatchLine(JSON.stringify({ type: 'upsert', version: 42, instance: instance(7) }))).toEqual({
      type: 'upsert', version: 42, tags: [{ seq: 7, sent: 1700000000123.456 }],
    });
    expect(scanWatchLine(JSON.stringify({ type: 'ping', version: 43 }))).toEqual({ type: 'ping', version: 43, tags: [] });
    expect(scanWatchLine(JSON.stringify({ type: 'remove', version: 44, id: 'a', service: 'b' })).type).toBe('remove');
    expect(scanWatchLine('garbage')).toEqual({ type: 'other', version: -1, tags: [] });
  });

  it('finds every tag a reset carries, and tags in an etcd value', () => {
    const reset = scanWatchLine(JSON.stringify({ type: 'reset', version: 9, instances: [instance(1), instance(2)] }));
    expect(reset.type).toBe('reset');
    expect(reset.tags.map((t) => t.seq)).toEqual([1, 2]);
    expect(scanTags(JSON.stringify(instance(5)))).toEqual([{ seq: 5, sent: 1700000000123.456 }]);
  });

  it('the bench writes its tag in the order the scanner expects', () => {
    const body = JSON.stringify(registration(3, 10, tagMeta(12)));
    expect(scanTags(body).map((t) => t.seq)).toEqual([12]);
  });

  it('splits a stream into lines across chunk boundaries', () => {
    const lines: string[] = [];
    let rest = takeLines('{"a":1}\n{"b"', (line) => lines.push(line));
    rest = takeLines(`${rest}:2}\n\n{"c":3}`, (line) => lines.push(line));
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    expect(rest).toBe('{"c":3}');
  });
});

describe('latency matrix and tagged writes', () => {
  it('keeps the first sighting of a write per watcher and counts the unseen', () => {
    const matrix = new LatencyMatrix(3, 2);
    matrix.record(0, { seq: 1, sent: 100 }, 110);
    matrix.record(0, { seq: 1, sent: 100 }, 500); // seen again in a later reset
    matrix.record(1, { seq: 7, sent: 100 }, 110); // beyond capacity: ignored
    expect(matrix.rows(1, 2)[0]).toBe(10);
    expect(matrix.unseen(0, 3)).toBe(5);
    expect(matrix.unseen(1, 2)).toBe(1);
  });

  it('tagged writes hit distinct existing instances', () => {
    const targets = new Set(Array.from({ length: 1_200 }, (_, seq) => taggedInstance(seq, 10_000)));
    expect(targets.size).toBe(1_200);
    for (const i of targets) expect(i).toBeLessThan(10_000);
  });

  it('reads the control plane heap from its metrics text', () => {
    expect(heapUsedFromMetrics('# HELP x\nweft_process_nodejs_heap_size_used_bytes 12345\n')).toBe(12345);
    expect(Number.isNaN(heapUsedFromMetrics('nothing'))).toBe(true);
  });
});
