// Bench: command-line flags of `npm run bench` and the parameters they resolve to.
import { parseArgs } from 'node:util';

export const CONTENDER_NAMES = ['direct', 'weft', 'weft-baseline', 'weft-pair', 'nginx-proxy', 'haproxy', 'http-proxy'] as const;
export type ContenderName = (typeof CONTENDER_NAMES)[number];

export interface BenchOptions {
  rounds: number;
  /** Seconds per measured run. */
  duration: number;
  connections: number;
  /** Seconds of the discarded warm-up run per contender. */
  warmup: number;
  /** Requests/s of the paced latency run; 0 skips it. */
  rate: number;
  pacedConnections: number;
  /** Requests/s of the paced runs of weft-pair and direct (the pair's latency goal is set at 1k req/s); 0 skips them. */
  pairRate: number;
  contenders: ContenderName[];
  /** Where results are saved; undefined with --no-save. */
  resultsDir: string | undefined;
}

export const USAGE = `usage: npm run bench -- [options]        (the HTTP proxy bench)
       npm run bench -- registry [options]  (the registry scale bench; --help for its options)
  --rounds N             measured rounds; each round runs every contender once, interleaved (3)
  --duration S           seconds per measured run (10)
  --connections C        wrk connections of the throughput runs (50)
  --warmup S             seconds of the discarded warm-up run per contender (2)
  --rate R               requests/s of the paced latency run, 0 to skip it (5000)
  --paced-connections C  wrk connections of the paced run (20)
  --pair-rate R          requests/s of the extra paced run of weft-pair and direct, 0 to skip it (1000)
  --contenders a,b,...   subset of ${CONTENDER_NAMES.join(',')} (all; direct is always included);
                         weft-baseline runs the built checkout in $WEFT_BENCH_BASELINE, to compare two commits in one run;
                         weft-pair is a client sidecar and a server sidecar talking mTLS
  --quick                2 rounds of 3 s, 1 s warm-up
  --no-save              print only, do not write bench/results/
  --help`;

export function parseBenchOptions(argv: readonly string[], defaultResultsDir: string): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      rounds: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
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
  // weft-baseline needs a second checkout to run; "all" includes it only when one is named.
  const all = CONTENDER_NAMES.filter((name) => name !== 'weft-baseline' || (process.env.WEFT_BENCH_BASELINE ?? '') !== '');
  const contenders = values.contenders === undefined ? all : parseContenders(values.contenders);
  return {
    rounds: int('--rounds', values.rounds, quick ? 2 : 3, 1, 100),
    duration: int('--duration', values.duration, quick ? 3 : 10, 1, 600),
    connections: int('--connections', values.connections, 50, 1, 10_000),
    warmup: int('--warmup', values.warmup, quick ? 1 : 2, 0, 60),
    rate: int('--rate', values.rate, 5000, 0, 1_000_000),
    pacedConnections: int('--paced-connections', values['paced-connections'], 20, 1, 10_000),
    pairRate: int('--pair-rate', values['pair-rate'], 1000, 0, 1_000_000),
    contenders,
    resultsDir: values['no-save'] ? undefined : defaultResultsDir,
  };
}

function parseContenders(list: string): ContenderName[] {
  const names = namesOption('--contenders', 'contender', list, CONTENDER_NAMES);
  // Ratios are relative to direct, so it always runs; keep the canonical order.
  return CONTENDER_NAMES.filter((name) => name === 'direct' || names.includes(name));
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
