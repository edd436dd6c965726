// Bench (registry): `npm run bench -- registry` — registration throughput, watch fan-out and memory of weft control on each store, and of etcd.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary } from '../../test/support/index.js';
import { takeBenchLock } from '../lock.js';
import { firstLine, hostInfo } from '../machine.js';
import { stopLoadProcesses } from './load-process.js';
import { measureStore } from './measure-store.js';
import { parseRegistryOptions, REGISTRY_USAGE, type RegistryBenchOptions } from './registry-options.js';
import { resultsTable, saveRegistryReport, type RegistryMachine, type RegistryReport, type StoreOutcome } from './registry-report.js';
import { LOAD_CPU, NotAvailable, pin, startStore } from './stores-under-test.js';

const log = (line: string): void => void process.stderr.write(`bench registry: ${line}\n`);

/** Runs the registry bench; resolves with the exit code. */
export async function runRegistryBench(argv: readonly string[], repoRoot: string): Promise<number> {
  let options: RegistryBenchOptions | 'help';
  try {
    options = parseRegistryOptions(argv, join(repoRoot, 'bench', 'results'));
  } catch (error) {
    process.stderr.write(`bench registry: ${error instanceof Error ? error.message : String(error)}\n${REGISTRY_USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${REGISTRY_USAGE}\n`);
    return 0;
  }
  if (!existsSync(join(repoRoot, 'dist', 'cli', 'main.js'))) {
    log('dist/ is missing: run `npm run build` first (`npm run bench` does)');
    return 1;
  }
  takeBenchLock();
  const startedAt = new Date().toISOString();
  const notes: string[] = [];
  const taskset = await findBinary('taskset');
  // Load processes are forked from here and inherit this affinity.
  if (taskset === undefined) notes.push('taskset not found: nothing was pinned; server and load share the CPUs.');
  else await pin(taskset, process.pid, LOAD_CPU).catch((error: Error) => notes.push(`could not pin the harness: ${error.message}`));
  const machine = await machineInfo(repoRoot, taskset !== undefined);

  // Bounds the whole run even if a store hangs in a way the per-phase limits miss.
  const perStoreSec = 180 + options.instances / 500 + options.writes / options.rate + options.burst / 20;
  const watchdog = setTimeout(() => {
    log(`exceeded its time budget of ${Math.round(perStoreSec * options.stores.length)} s; stopping`);
    void stopLoadProcesses().finally(() => process.exit(1));
  }, perStoreSec * options.stores.length * 1000);
  watchdog.unref();

  const outcomes: StoreOutcome[] = [];
  try {
    for (const name of options.stores) {
      log(`${name}: starting`);
      let store;
      try {
        store = await startStore(name, { repoRoot, taskset });
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        outcomes.push(error instanceof NotAvailable ? { store: name, skipped: why } : { store: name, failed: why });
        log(`${name}: ${error instanceof NotAvailable ? 'not available' : 'FAILED to start'}: ${why}`);
        continue;
      }
      try {
        outcomes.push({ store: name, result: await measureStore(store, options, log) });
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        outcomes.push({ store: name, failed: why.split('\n')[0] ?? why });
        log(`${name}: FAILED: ${why}\n--- ${name} server output ---\n${store.output()}`);
      } finally {
        await stopLoadProcesses();
        await store.stop().catch((error: Error) => notes.push(`${name} did not stop cleanly: ${error.message.split('\n')[0] ?? ''}`));
      }
    }
  } finally {
    clearTimeout(watchdog);
  }

  const report: RegistryReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    parameters: { ...options, resultsDir: undefined } as RegistryReport['parameters'],
    stores: outcomes,
    notes,
  };
  delete (report.parameters as { resultsDir?: unknown }).resultsDir;
  process.stdout.write(`\n${resultsTable(report)}\n\n`);
  for (const note of notes) process.stdout.write(`note: ${note}\n`);
  if (options.resultsDir !== undefined) {
    const written = await saveRegistryReport(options.resultsDir, report);
    log(`saved ${written.map((path) => path.slice(repoRoot.length + 1)).join(', ')}`);
  }
  return outcomes.some((o) => o.failed !== undefined) ? 1 : 0;
}

async function machineInfo(repoRoot: string, pinned: boolean): Promise<RegistryMachine> {
  const [host, etcd] = await Promise.all([hostInfo(repoRoot, pinned), firstLine('etcd', ['--version'])]);
  return { ...host, etcd };
}
