// Bench (registry): flags of `npm run bench -- registry` and the parameters they resolve to.
import { parseArgs } from 'node:util';
import { int, namesOption } from '../options.js';

export const STORE_NAMES = ['embedded', 'memory', 'etcd', 'etcd-anchor'] as const;
export type StoreName = (typeof STORE_NAMES)[number];

export interface RegistryBenchOptions {
  instances: number;
  services: number;
  watchers: number;
  /** Paced tagged writes for the fan-out measurement. */
  writes: number;
  /** Writes per second of the paced phase. */
  rate: number;
  /** Tagged writes sent as fast as `concurrency` allows, after the paced phase; 0 skips the burst. */
  burst: number;
  concurrency: number;
  /** Watcher processes the watchers are spread over. */
  watchProcesses: number;
  /** etcd3 clients per watcher process for the anchor (etcd multiplexes watchers on one stream per client). */
  etcdClients: number;
  stores: StoreName[];
  quick: boolean;
  /** Where results are saved; undefined with --no-save. */
  resultsDir: string | undefined;
}

export const REGISTRY_USAGE = `usage: npm run bench -- registry [options]
  --instances N          instances registered (100000; --quick 10000)
  --services S           services they are spread over (1000; --quick 100)
  --watchers W           concurrent watch streams (1000; --quick 100)
  --writes K             paced tagged writes for fan-out latency (200; --quick 100)
  --rate R               writes/s of the paced phase (20)
  --burst B              tagged writes sent as fast as possible afterwards, 0 to skip (1000; --quick 500)
  --concurrency C        concurrent connections/requests of the registration load and the burst (64)
  --watch-processes P    processes the watchers are spread over (2)
  --etcd-clients E       etcd3 clients per watcher process for the etcd anchor (8)
  --stores a,b,...       some of ${STORE_NAMES.join(',')} (all); memory is \`weft control --dev\` (authentication
                         off), embedded and etcd authenticate with the admin token their control plane writes
  --quick                10k instances, 100 services, 100 watchers: a run of about a minute
  --no-save              print only, do not write bench/results/
  --help`;

export function parseRegistryOptions(argv: readonly string[], defaultResultsDir: string): RegistryBenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      instances: { type: 'string' },
      services: { type: 'string' },
      watchers: { type: 'string' },
      writes: { type: 'string' },
      rate: { type: 'string' },
      burst: { type: 'string' },
      concurrency: { type: 'string' },
      'watch-processes': { type: 'string' },
      'etcd-clients': { type: 'string' },
      stores: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'no-save': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick;
  const instances = int('--instances', values.instances, quick ? 10_000 : 100_000, 1, 10_000_000);
  const services = int('--services', values.services, quick ? 100 : 1_000, 1, 1_000_000);
  if (services > instances) throw new Error(`--services: ${services} services cannot share ${instances} instances`);
  return {
    instances,
    services,
    watchers: int('--watchers', values.watchers, quick ? 100 : 1_000, 1, 20_000),
    writes: int('--writes', values.writes, quick ? 100 : 200, 1, 100_000),
    rate: int('--rate', values.rate, 20, 1, 10_000),
    burst: int('--burst', values.burst, quick ? 500 : 1_000, 0, 100_000),
    concurrency: int('--concurrency', values.concurrency, 64, 1, 4_096),
    watchProcesses: int('--watch-processes', values['watch-processes'], 2, 1, 16),
    etcdClients: int('--etcd-clients', values['etcd-clients'], 8, 1, 256),
    stores: values.stores === undefined ? [...STORE_NAMES] : parseStores(values.stores),
    quick,
    resultsDir: values['no-save'] ? undefined : defaultResultsDir,
  };
}

function parseStores(list: string): StoreName[] {
  const names = namesOption('--stores', 'store', list, STORE_NAMES);
  if (names.length === 0) throw new Error(`--stores: expected some of ${STORE_NAMES.join(', ')}`);
  return STORE_NAMES.filter((name) => names.includes(name));
}
