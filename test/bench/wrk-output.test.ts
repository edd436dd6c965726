// Tests of the bench's parsing of wrk output and its medians and ratios.
import { describe, expect, it } from 'vitest';
import { parseWrkOutput } from '../../bench/load/wrk-output.js';
import { median, summarise } from '../../bench/stats.js';

const OUTPUT = `Running 3s test @ http://127.0.0.1:35577/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   620.51us  310.22us  12.04ms   91.20%
    Req/Sec    67.21k     3.10k   71.02k    80.00%
  Latency Distribution
     50%  540.00us
     75%  700.00us
     90%    0.90ms
     99%    1.02ms
  201562 requests in 3.00s, 30.94MB read
  Socket errors: connect 0, read 2, write 1, timeout 4
  Non-2xx or 3xx responses: 12
Requests/sec:  67187.33
Transfer/sec:     10.31MB
`;

describe('parseWrkOutput', () => {
  it('reads throughput, percentiles in ms and errors', () => {
    expect(parseWrkOutput(OUTPUT)).toEqual({
      requestsPerSec: 67187.33,
      requests: 201562,
      p50Ms: 0.54,
      p99Ms: 1.02,
      non2xx: 12,
      socketErrors: 7,
    });
  });

  it('converts seconds and reads a run without errors', () => {
    const clean = OUTPUT.replace('     99%    1.02ms', '     99%    1.50s').replace(/ {2}Socket errors.*\n/, '').replace(/ {2}Non-2xx.*\n/, '');
    const result = parseWrkOutput(clean);
    expect(result.p99Ms).toBe(1500);
    expect(result.socketErrors).toBe(0);
    expect(result.non2xx).toBe(0);
  });

  it('rejects output without a latency distribution', () => {
    expect(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused')).toThrow(/unrecognised wrk output/);
  });
});

describe('stats', () => {
  const run = (requestsPerSec: number, p99Ms = 1) => ({ requestsPerSec, requests: 1, p50Ms: 0.5, p99Ms, non2xx: 0, socketErrors: 0 });

  it('takes medians of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('computes ratios to direct and nginx and the added paced p99', () => {
    const [direct, nginx, weft] = summarise([
      { name: 'direct', description: '', throughput: [run(100), run(90), run(110)], paced: [run(5, 0.4)] },
      { name: 'nginx-proxy', description: '', throughput: [run(50)], paced: [run(5, 0.7)] },
      { name: 'weft', description: '', throughput: [run(25)], paced: [run(5, 1.9)] },
    ]);
    expect(direct?.requestsPerSec).toBe(100);
    expect(nginx?.vsDirect).toBe(0.5);
    expect(weft?.vsNginx).toBe(0.5);
    expect(weft?.addedP99Ms).toBeCloseTo(1.5);
  });
});
