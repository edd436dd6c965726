// CLI: the `weft stat` table — columns, formatting of rates and latencies, and sidecars that were not counted.
import { describe, expect, it } from 'vitest';
import { renderStats } from '../../src/cli/commands/stat.js';
import type { StatsReply } from '../../src/model/index.js';

const reply = (by: 'service' | 'instance'): StatsReply => ({
  version: 7,
  direction: 'inbound',
  windowSeconds: 10,
  by,
  rows: [
    { service: 'greeter', ...(by === 'instance' ? { instance: 'greeter-1' } : {}), requests: 400, successes: 360, successRate: 0.9, rps: 40, latencyMs: { p50: 1.234, p95: 12.5, p99: 250 }, sidecars: 1, tcpConnections: 12 },
    { service: 'idle', ...(by === 'instance' ? { instance: 'idle-1' } : {}), requests: 0, successes: 0, successRate: null, rps: 0, latencyMs: { p50: null, p95: null, p99: null }, sidecars: 1, tcpConnections: 0 },
  ],
  skipped: [{ service: 'ghost', instance: 'ghost-1', admin: '127.0.0.1:1', reason: 'unreachable: connect ECONNREFUSED' }],
});

describe('weft stat table', () => {
  it('shows one row per service with rates and latencies', () => {
    expect(renderStats(reply('service'))).toBe(
      [
        'NAME     SUCCESS  RPS   LATENCY_P50  LATENCY_P95  LATENCY_P99  TCP_CONN',
        'greeter  90.00%   40.0  1.23ms       12.5ms       250ms        12',
        'idle     -        0.0   -            -            -            0',
        '# ghost ghost-1 (127.0.0.1:1) not counted: unreachable: connect ECONNREFUSED',
        '',
      ].join('\n'),
    );
  });

  it('adds an INSTANCE column per instance', () => {
    const [header, first] = renderStats(reply('instance')).split('\n');
    expect(header).toMatch(/^NAME\s+INSTANCE\s+SUCCESS\s+RPS\s+LATENCY_P50\s+LATENCY_P95\s+LATENCY_P99\s+TCP_CONN$/);
    expect(first).toMatch(/^greeter\s+greeter-1\s+90\.00%/);
  });

  it('says so when nothing was sampled yet', () => {
    expect(renderStats({ ...reply('service'), rows: [], skipped: [] })).toMatch(/^no stats yet over the last 10s/);
  });
});
