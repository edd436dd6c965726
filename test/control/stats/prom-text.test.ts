// Control stats: reading request counters, latency buckets and open connections out of Prometheus text, and windowed deltas of them.
import { describe, expect, it } from 'vitest';
import { parseLabels, parseSidecarCounters, parseWindow } from '../../../src/control/stats/index.js';
import { addDelta, emptyDelta, latencyOf } from '../../../src/control/stats/window-delta.js';

const exposition = (ok: number, failed: number, buckets: readonly number[]) => `# HELP weft_proxy_requests_total Requests handled by the sidecar.
# TYPE weft_proxy_requests_total counter
weft_proxy_requests_total{direction="inbound",source="web",destination="greeter",code="200",classification="success"} ${ok}
weft_proxy_requests_total{direction="inbound",source="web",destination="greeter",code="500",classification="failure"} ${failed}
weft_proxy_requests_total{direction="outbound",source="greeter",destination="other",code="200",classification="success"} 77
# TYPE weft_proxy_request_duration_seconds histogram
weft_proxy_request_duration_seconds_bucket{le="0.01",direction="inbound",source="web",destination="greeter"} ${buckets[0]}
weft_proxy_request_duration_seconds_bucket{le="0.1",direction="inbound",source="web",destination="greeter"} ${buckets[1]}
weft_proxy_request_duration_seconds_bucket{le="+Inf",direction="inbound",source="web",destination="greeter"} ${buckets[2]}
weft_proxy_request_duration_seconds_sum{direction="inbound",source="web",destination="greeter"} 1.5
weft_proxy_request_duration_seconds_count{direction="inbound",source="web",destination="greeter"} ${buckets[2]}
weft_proxy_request_duration_seconds_bucket{le="+Inf",direction="outbound",source="greeter",destination="other"} 77
`;

const parseInboundCounters = (text: string) => parseSidecarCounters(text).inbound;

describe('parseSidecarCounters', () => {
  it('keeps each direction apart, by service, code and bucket bound', () => {
    const { inbound, outbound } = parseSidecarCounters(exposition(90, 10, [50, 100, 100]));
    expect([...inbound.keys()]).toEqual(['greeter']);
    const greeter = inbound.get('greeter')!;
    expect(Object.fromEntries(greeter.codes)).toEqual({ '200': 90, '500': 10 });
    expect([...greeter.buckets]).toEqual([[0.01, 50], [0.1, 100], [Infinity, 100]]);
    expect([...outbound.keys()]).toEqual(['other']);
    expect(Object.fromEntries(outbound.get('other')!.codes)).toEqual({ '200': 77 });
  });

  it('sums the open inbound downstream connections over peers, leaving out the other sides and directions', () => {
    const text = [
      'weft_proxy_tcp_connections_open{direction="inbound",side="downstream",peer="_unknown"} 5',
      'weft_proxy_tcp_connections_open{direction="inbound",side="downstream",peer="web"} 2',
      'weft_proxy_tcp_connections_open{direction="inbound",side="upstream",peer="greeter"} 1',
      'weft_proxy_tcp_connections_open{direction="outbound",side="downstream",peer="_unknown"} 9',
    ].join('\n');
    expect(parseSidecarCounters(text).inboundConnections).toBe(7);
  });

  it('sums the calling sources of one destination, codes and buckets alike', () => {
    const twoCallers = `${exposition(90, 10, [50, 100, 100])}weft_proxy_requests_total{direction="inbound",source="batch",destination="greeter",code="200",classification="success"} 5
weft_proxy_request_duration_seconds_bucket{le="0.01",direction="inbound",source="batch",destination="greeter"} 1
weft_proxy_request_duration_seconds_bucket{le="0.1",direction="inbound",source="batch",destination="greeter"} 4
weft_proxy_request_duration_seconds_bucket{le="+Inf",direction="inbound",source="batch",destination="greeter"} 5
`;
    const greeter = parseInboundCounters(twoCallers).get('greeter')!;
    expect(Object.fromEntries(greeter.codes)).toEqual({ '200': 95, '500': 10 });
    expect([...greeter.buckets]).toEqual([[0.01, 51], [0.1, 104], [Infinity, 105]]);
  });

  it('reads escaped label values', () => {
    expect(Object.fromEntries(parseLabels('a="x\\"y",b="c\\\\d",c="line\\nbreak"'))).toEqual({ a: 'x"y', b: 'c\\d', c: 'line\nbreak' });
  });
});

describe('window deltas', () => {
  it('counts what changed between two samples, with success as non-5xx, and a rate over the span', () => {
    const before = parseInboundCounters(exposition(90, 10, [50, 100, 100])).get('greeter')!;
    const after = parseInboundCounters(exposition(180, 20, [100, 180, 200])).get('greeter')!;
    const delta = emptyDelta();
    addDelta(delta, after, before, 10);
    expect(delta).toMatchObject({ requests: 100, successes: 90, rps: 10 });
    // 50 of 100 within 10 ms, 80 within 100 ms: p50 = 10 ms; p95 lands in +Inf, so the top finite bound.
    expect(latencyOf(delta)).toEqual({ p50: 10, p95: 100, p99: 100 });
  });

  it('counts a client that left (499) and a broken response (0) as failures, like the classification label', () => {
    const codes = (entries: [string, number][]) => ({ codes: new Map(entries), buckets: new Map<number, number>() });
    const delta = emptyDelta();
    addDelta(delta, codes([['200', 7], ['404', 1], ['499', 1], ['0', 1]]), undefined, 1);
    expect(delta).toMatchObject({ requests: 10, successes: 8 });
  });

  it('treats a counter that went down as a restarted sidecar', () => {
    const before = parseInboundCounters(exposition(900, 100, [500, 1000, 1000])).get('greeter')!;
    const after = parseInboundCounters(exposition(9, 1, [5, 10, 10])).get('greeter')!;
    const delta = emptyDelta();
    addDelta(delta, after, before, 5);
    expect(delta).toMatchObject({ requests: 10, successes: 9, rps: 2 });
  });
});

describe('parseWindow', () => {
  it.each([[null, 10], ['10s', 10], ['1m', 60], ['2500ms', 2.5], ['30', 30]])('%s is %d s', (text, seconds) => {
    expect(parseWindow(text)).toBe(seconds);
  });
  it.each(['0s', '11m', 'soon', '500ms'])('refuses %s', (text) => {
    expect(() => parseWindow(text)).toThrow(/window/);
  });
});
