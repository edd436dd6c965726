// Bench: command-line flags of `npm run bench` and the parameters they resolve to.
import { parseArgs } from 'node:util';

/** What the contenders forward: HTTP/1.1 (wrk), HTTP/2 in cleartext with prior knowledge (h2load), or raw TCP (an echo load of our own). */
export const BENCH_PROTOCOLS = ['http1', 'h2', 'tcp'] as const;
export type BenchProtocol = (typeof BENCH_PROTOCOLS)[number];

export const CONTENDER_NAMES = ['direct', 'weft', 'weft-baseline', 'weft-pair', 'nginx-proxy', 'haproxy', 'http-proxy'] as const;
export const H2_CONTENDER_NAMES = ['direct-h2', 'weft-h2', 'weft-h2-upstream', 'nginx-h2'] as const;
export const TCP_CONTENDER_NAMES = ['direct-tcp', 'weft-tcp', 'nginx-stream', 'haproxy-tcp'] as const;
export type ContenderName = (typeof CONTENDER_NAMES)[number] | (typeof H2_CONTENDER_NAMES)[number] | (typeof TCP_CONTENDER_NAMES)[number];

/** Each protocol's contenders in the order they run in a round; the first, the baseline, always runs. */
export const CONTENDERS_OF: Readonly<Record<BenchProtocol, readonly ContenderName[]>> = {
  http1: CONTENDER_NAMES,
  h2: H2_CONTENDER_NAMES,
  tcp: TCP_CONTENDER_NAMES,
};

/** The protocols whose reports compare against the best peer (HTTP/1.1 keeps its "vs nginx"). */
export type H2OrTcp = Exclude<BenchProtocol, 'http1'>;

/** The established proxies of h2 and tcp: their reports' "vs best peer" is relative to the fastest of them in the run. */
export const PEERS_OF: Readonly<Record<H2OrTcp, readonly ContenderName[]>> = {
  h2: ['nginx-h2'],
  tcp: ['nginx-stream', 'haproxy-tcp'],
};

export interface BenchOptions {
  protocol: BenchProtocol;
  rounds: number;
  /** Seconds per measured run. */
  duration: number;
  /** wrk connections (http1), h2load clients (h2), or echo connections (tcp) of the throughput runs. */
  connections: number;
  /** h2load's concurrent streams per connection (-m); h2 only. */
  streams: number;
  /** Bytes of each echoed message; tcp only. */
  messageBytes: number;
  /** Seconds of the discarded warm-up run per contender. */
  warmup: number;
  /** Requests/s (tcp: round trips/s) of the paced latency run; 0 skips it. */
  rate: number;
  pacedConnections: number;
  /** Requests/s of the paced runs of weft-pair and direct (the pair's latency goal is set at 1k req/s); 0 skips them. */
  pairRate: number;
  contenders: ContenderName[];
  /** Where results are saved; undefined with --no-save. */
  resultsDir: string | undefined;
}

export const USAGE = `usage: npm run bench -- [options]        (the proxy bench: HTTP/1.1 unless --protocol says otherwise)
       npm run bench -- registry [options]  (the registry scale bench; --help for its options)
  --protocol P           http1 (wrk), h2 (h2c, h2load) or tcp (an echo load of bench/load/) (http1)
  --rounds N             measured rounds; each round runs every contender once, interleaved (3)
  --duration S           seconds per measured run (10)
  --connections C        connections of the throughput runs: wrk's (50), h2load's clients (10), echo connections (50)
  --streams M            h2: concurrent streams per h2load connection, h2load -m (10)
  --message-bytes B      tcp: bytes of each message echoed (64)
  --warmup S             seconds of the discarded warm-up run per contender (2)
  --rate R               requests/s (tcp: round trips/s) of the paced latency run, 0 to skip it (5000)
  --paced-connections C  connections of the paced run (20); with h2 each keeps up to --streams streams
  --pair-rate R          http1: requests/s of the extra paced run of weft-pair and direct, 0 to skip it (1000)
  --contenders a,b,...   http1: subset of ${CONTENDER_NAMES.join(',')} (all; direct is always included);
                         weft-baseline runs the built checkout in $WEFT_BENCH_BASELINE, to compare two commits in one run;
                         weft-pair is a client sidecar and a server sidecar talking mTLS
                         h2: subset of ${H2_CONTENDER_NAMES.join(',')} (all; direct-h2 always)
                         tcp: subset of ${TCP_CONTENDER_NAMES.join(',')} (all; direct-tcp always)
  --quick                2 rounds of 3 s, 1 s warm-up
  --no-save              print only, do not write bench/results/
  --help`;

export function parseBenchOptions(argv: readonly string[], defaultResultsDir: string): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      protocol: { type: 'string' },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      streams: { type: 'string' },
      'message-bytes': { type: 'string' },
      warmup: { type: 'string' },
      rate: { type: 'string' },
      'paced-connections': { type: 'string' },
      'pair-rate': { type: 'string' },
      contenders: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'no-save': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick;
  const protocol = parseProtocol(values.protocol);
  // A flag of another protocol's bench would be silently ignored: refuse it instead.
  for (const [flag, given, only] of [['--streams', values.streams, 'h2'], ['--message-bytes', values['message-bytes'], 'tcp'], ['--pair-rate', values['pair-rate'], 'http1']] as const) {
    if (given !== undefined && protocol !== only) throw new Error(`${flag} applies to --protocol ${only} only`);
  }
  const canonical = CONTENDERS_OF[protocol];
  // weft-baseline needs a second checkout to run; "all" includes it only when one is named.
  const all = canonical.filter((name) => name !== 'weft-baseline' || (process.env.WEFT_BENCH_BASELINE ?? '') !== '');
  const contenders = values.contenders === undefined ? [...all] : parseContenders(values.contenders, canonical);
  return {
    protocol,
    rounds: int('--rounds', values.rounds, quick ? 2 : 3, 1, 100),
    duration: int('--duration', values.duration, quick ? 3 : 10, 1, 600),
    connections: int('--connections', values.connections, protocol === 'h2' ? 10 : 50, 1, 10_000),
    streams: int('--streams', values.streams, 10, 1, 1_000),
    messageBytes: int('--message-bytes', values['message-bytes'], 64, 1, 1_048_576),
    warmup: int('--warmup', values.warmup, quick ? 1 : 2, 0, 60),
    rate: int('--rate', values.rate, 5000, 0, 1_000_000),
    pacedConnections: int('--paced-connections', values['paced-connections'], 20, 1, 10_000),
    // The pair and its goal exist in the HTTP/1.1 bench only.
    pairRate: protocol === 'http1' ? int('--pair-rate', values['pair-rate'], 1000, 0, 1_000_000) : 0,
    contenders,
    resultsDir: values['no-save'] ? undefined : defaultResultsDir,
  };
}

function parseProtocol(raw: string | undefined): BenchProtocol {
  if (raw === undefined) return 'http1';
  const protocol = BENCH_PROTOCOLS.find((name) => name === raw);
  if (protocol === undefined) throw new Error(`--protocol: expected one of ${BENCH_PROTOCOLS.join(', ')}, got "${raw}"`);
  return protocol;
}

function parseContenders(list: string, canonical: readonly ContenderName[]): ContenderName[] {
  const names = namesOption('--contenders', 'contender', list, canonical);
  // Ratios are relative to the baseline (direct), so it always runs; keep the canonical order.
  return canonical.filter((name, i) => i === 0 || names.includes(name));
}

/** The comma-separated names of a list flag, each checked against the allowed ones. */
export function namesOption(flag: string, noun: string, list: string, allowed: readonly string[]): string[] {
  const names = list.split(',').map((name) => name.trim()).filter((name) => name !== '');
  for (const name of names) {
    if (!allowed.includes(name)) throw new Error(`${flag}: unknown ${noun} "${name}"; expected some of ${allowed.join(', ')}`);
  }
  return names;
}

/** An integer flag within bounds, or its default when absent. */
export function int(flag: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${flag}: expected an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}
