// Bench: picks per second of every balancer kind (pick + done), ring build cost and key hashing; `node --import tsx bench/balancers.ts`.
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ConnectFailedError, seededRng, systemClock, type CallContext, type Outcome } from '../src/core/index.js';
import { BALANCER_KIND_NAMES, endpointFromInstance, type Endpoint } from '../src/model/index.js';
import { createBalancer, hash53, type BalancerKind, type Picker } from '../src/balance/index.js';

const SIZES = [3, 10, 100];
const ROUNDS = 5;
const SLICE_MS = 150;
const KEYS = Array.from({ length: 4_096 }, (_, i) => `user-${i * 7919}`);

function endpoints(n: number): Endpoint[] {
  return Array.from({ length: n }, (_, i) =>
    endpointFromInstance({ id: `bench-${i}`, service: 'bench', host: '10.0.0.1', port: 9000 + i, weight: 1 + (i % 3), protocol: 'http1', meta: {}, tags: [], ttlMs: 10_000, health: 'passing' }),
  );
}

const success: Outcome = { kind: 'success', latencyMs: 3, status: 200 };
const failure: Outcome = { kind: 'failure', latencyMs: 1, error: new ConnectFailedError('10.0.0.1:9000') };

/** Contexts built up front, so the loop measures the picker and not the harness. */
const contexts: CallContext[] = KEYS.map((hashKey) => ({ signal: new AbortController().signal, attempt: 1, hashKey }));

/** Runs pick + done for about SLICE_MS and returns operations per second. */
function slice(picker: Picker): number {
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < SLICE_MS) {
    for (let i = 0; i < 1_024; i++) {
      const pick = picker.pick(contexts[(ops + i) & 4_095]!);
      if (pick.ok) pick.done((i & 63) === 0 ? failure : success);
    }
    ops += 1_024;
    now = performance.now();
  }
  return (ops * 1_000) / (now - start);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function perSecond(label: string, body: (i: number) => void): string {
  const runs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let ops = 0;
    const start = performance.now();
    while (performance.now() - start < SLICE_MS) {
      for (let i = 0; i < 256; i++) body(ops + i);
      ops += 256;
    }
    runs.push((ops * 1_000) / (performance.now() - start));
  }
  return `| ${label} | ${format(median(runs))} |`;
}

function format(rate: number): string {
  return rate >= 1e6 ? `${(rate / 1e6).toFixed(2)} M` : `${(rate / 1e3).toFixed(0)} k`;
}

function main(): void {
  const pickers = new Map<string, Picker>();
  for (const kind of BALANCER_KIND_NAMES) {
    for (const n of SIZES) {
      pickers.set(`${kind}/${n}`, createBalancer(kind, seededRng(1), 'bench', { clock: systemClock }).update(endpoints(n)));
    }
  }
  // Warm-up, then interleaved rounds (every picker once per round) so that machine noise hits all alike.
  for (const picker of pickers.values()) slice(picker);
  const runs = new Map<string, number[]>([...pickers.keys()].map((key) => [key, []]));
  for (let round = 0; round < ROUNDS; round++) for (const [key, picker] of pickers) runs.get(key)!.push(slice(picker));

  const out: string[] = [];
  out.push(`Balancer picks per second (pick + done, median of ${ROUNDS} × ${SLICE_MS} ms, Node ${process.version})`, '');
  out.push(`| algorithm | ${SIZES.map((n) => `${n} endpoints`).join(' | ')} |`, `|---|${SIZES.map(() => '---:').join('|')}|`);
  for (const kind of BALANCER_KIND_NAMES) {
    out.push(`| ${kind} | ${SIZES.map((n) => format(median(runs.get(`${kind}/${n}`)!))).join(' | ')} |`);
  }

  out.push('', 'Ring build (ring-hash update, 100 virtual nodes per unit of weight)', '', '| endpoints | ms per update |', '|---|---:|');
  for (const n of [10, 100, 500]) {
    const eps = endpoints(n);
    const balancer = createBalancer('ring-hash' satisfies BalancerKind, seededRng(1), 'bench');
    const times: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const start = performance.now();
      balancer.update(eps);
      times.push(performance.now() - start);
    }
    out.push(`| ${n} | ${median(times).toFixed(2)} |`);
  }

  out.push('', 'Hashing one request key', '', '| hash | keys per second |', '|---|---:|');
  let sink = 0;
  out.push(perSecond('hash53 (ring-hash)', (i) => (sink ^= hash53(KEYS[i & 4_095]!))));
  out.push(perSecond('node:crypto md5', (i) => (sink ^= createHash('md5').update(KEYS[i & 4_095]!).digest().readUInt32LE(0))));
  out.push(perSecond('node:crypto sha1', (i) => (sink ^= createHash('sha1').update(KEYS[i & 4_095]!).digest().readUInt32LE(0))));
  process.stdout.write(`${out.join('\n')}\n`);
  if (sink === 0.5) process.stdout.write('\n');
}

main();
