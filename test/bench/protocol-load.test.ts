// Tests of the h2 and tcp benches' load results: h2load's printed report and per-request log, and the echo load's report line.
import { describe, expect, it } from 'vitest';
import { h2loadResult, parseH2loadOutput, requestTimesMs } from '../../bench/load/h2load-output.js';
import { parseTcpLoadReport, tcpLoadResult } from '../../bench/load/tcp-load.js';

const OUTPUT = `starting benchmark...
spawning thread #0: 10 total client(s). Timing-based test with 0s of warm-up time and 3s of main duration for measurements.
Application protocol: h2c
Main benchmark duration is over for thread #0. Stopping all clients.

finished in 3.00s, 20123.33 req/s, 1.52MB/s
requests: 60390 total, 60400 started, 60390 done, 60370 succeeded, 20 failed, 5 errored, 0 timeout
status codes: 60370 2xx, 0 3xx, 15 4xx, 0 5xx
traffic: 4.57MB (4790000) total, 2.83MB (2970000) headers (space savings 50.51%), 786.17KB (805000) data
                     min         max         mean         sd        +/- sd
time for request:       98us     12.50ms      4.90ms       1.02ms    70.55%
time for connect:      369us       397us       383us        19us   100.00%
time to 1st byte:      768us       907us       837us        98us   100.00%
req/s           :    2010.42     2015.15     2012.79        1.48    60.00%
`;

describe('h2load output', () => {
  it('reads throughput, counts, status classes, the protocol and its request-time summary', () => {
    expect(parseH2loadOutput(OUTPUT)).toEqual({
      requestsPerSec: 20123.33,
      succeeded: 60370,
      failed: 20,
      errored: 5,
      timedOut: 0,
      status: { '2xx': 60370, '3xx': 0, '4xx': 15, '5xx': 0 },
      protocol: 'h2c',
      requestTime: { minMs: 0.098, maxMs: 12.5, meanMs: 4.9, sdMs: 1.02 },
    });
  });

  it('takes percentiles from the log of answered requests, leaving failed streams out', () => {
    const log = [...Array.from({ length: 100 }, (_, i) => `1796327614964648\t200\t${(i + 1) * 1000}`), '1796327614964649\t-1\t999999999', ''].join('\n');
    const times = requestTimesMs(log);
    expect(times.length).toBe(100);
    const result = h2loadResult(parseH2loadOutput(OUTPUT), times);
    expect(result).toMatchObject({ requestsPerSec: 20123.33, requests: 60370, p50Ms: 50, p99Ms: 99, non2xx: 15, socketErrors: 5, meanMs: 4.9, maxMs: 12.5 });
  });

  it('refuses output that is not a report, a run that answered nothing, and a connection that was not h2c', () => {
    expect(() => parseH2loadOutput('connect: Connection refused')).toThrow(/unrecognised h2load output/);
    expect(() => h2loadResult(parseH2loadOutput(OUTPUT), new Float64Array())).toThrow(/completed no request/);
    expect(() => h2loadResult(parseH2loadOutput(OUTPUT.replace('h2c', 'http/1.1')), Float64Array.of(1))).toThrow(/not h2c/);
  });
});

describe('tcp echo load report', () => {
  const report = { connections: 50, seconds: 3, roundTrips: 90_000, roundTripsPerSec: 30_000, p50Ms: 1.5, p99Ms: 4, maxMs: 9, meanMs: 1.7, mismatches: 2, socketErrors: 1 };

  it('finds its line among other output and maps it onto the load result', () => {
    const parsed = parseTcpLoadReport(`a warning\n${JSON.stringify(report)}\n`);
    expect(tcpLoadResult(parsed)).toEqual({ requestsPerSec: 30_000, requests: 90_000, p50Ms: 1.5, p99Ms: 4, non2xx: 2, socketErrors: 1, meanMs: 1.7, maxMs: 9 });
  });

  it('fails without a report or without a round trip', () => {
    expect(() => parseTcpLoadReport('no connection to 127.0.0.1:1 could be made')).toThrow(/no report/);
    expect(() => tcpLoadResult({ ...report, roundTrips: 0 })).toThrow(/no round trip/);
  });
});
