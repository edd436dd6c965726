// Bench tests: runs bench/run.ts as `npm run bench` does (on the built dist/), waiting its turn for the machine-wide bench lock, and reads its table.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { spawnProcess, stopProcess, type Exit } from '../support/index.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Another bench (the sibling smoke test, or an engineer's run) holds the lock: try again this often, this many times. */
const LOCK_RETRY_MS = 2_000;
const LOCK_RETRIES = 45;
const LOCK_HELD = /another bench \(pid \d+\) is running/;

export interface BenchRun {
  exit: Exit;
  stdout: string;
  /** stdout and stderr interleaved: what explains a failure. */
  output: string;
}

/** The bench drives the built weft (bin/weft.js → dist/), as `npm run bench` does after its build; `npm test` builds first too. */
export function requireDist(): void {
  if (!existsSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)))) {
    throw new Error('dist/ is missing: run `npm run build` first (`npm test` does)');
  }
}

/** Runs `node --import tsx bench/run.ts ...args` once the bench lock is free; each attempt is stopped after `timeoutMs`. */
export async function runBench(args: readonly string[], timeoutMs: number): Promise<BenchRun> {
  for (let attempt = 0; ; attempt++) {
    const run = await runOnce(args, timeoutMs);
    if (!LOCK_HELD.test(run.output)) return run;
    if (attempt >= LOCK_RETRIES) throw new Error(`the bench lock stayed taken for ${(LOCK_RETRIES * LOCK_RETRY_MS) / 1000} s:\n${run.output}`);
    await sleep(LOCK_RETRY_MS);
  }
}

async function runOnce(args: readonly string[], timeoutMs: number): Promise<BenchRun> {
  const proc = spawnProcess(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { name: `bench ${args[0] ?? ''}`, cwd: REPO_ROOT });
  let stdout = '';
  proc.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    // SIGTERM lets the bench stop what it started; stopProcess escalates to SIGKILL.
    void stopProcess(proc, 'SIGTERM', 10_000);
  }, timeoutMs);
  const exit = await proc.exited;
  clearTimeout(timer);
  const output = proc.output();
  if (timedOut) throw new Error(`the bench did not finish within ${timeoutMs / 1000} s:\n${output.slice(-4000)}`);
  return { exit, stdout, output };
}

export interface ResultsTable {
  header: string[];
  /** Cells by column header, per row, keyed by the row's first cell (a trailing " !" mark removed). */
  rows: Map<string, Map<string, string>>;
}

/** The Markdown table the bench prints: the first run of lines starting with "|". */
export function resultsTable(stdout: string): ResultsTable {
  const lines = stdout.split('\n');
  const start = lines.findIndex((line) => line.startsWith('|'));
  if (start === -1) throw new Error(`no results table in the bench's output:\n${stdout}`);
  const end = lines.findIndex((line, i) => i > start && !line.startsWith('|'));
  const cells = (line: string): string[] => line.slice(1, line.endsWith('|') ? -1 : undefined).split('|').map((cell) => cell.trim());
  const header = cells(lines[start]!);
  const rows = new Map<string, Map<string, string>>();
  // Skips the header and its rule line.
  for (const line of lines.slice(start + 2, end === -1 ? undefined : end)) {
    const row = cells(line);
    rows.set((row[0] ?? '').replace(/ !$/, ''), new Map(header.map((name, i) => [name, row[i] ?? ''])));
  }
  return { header, rows };
}

/** A figure as the tables print it: a number, maybe signed, maybe a ratio (×), maybe marked " !" for a missed goal. */
export const FIGURE = /^[+-]?\d+(\.\d+)?×?( !)?$/;
