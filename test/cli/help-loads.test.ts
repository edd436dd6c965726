// CLI: `weft --help` and a command's --help load commander and the command definitions, never zod, prom-client or the code behind the commands, so that help answers at once.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WEFT_BIN } from '../e2e/weft-cli.js';

const RECORDER = new URL('../support/record-loads.mjs', import.meta.url).href;

interface RecordedRun {
  code: number;
  stdout: string;
  loaded: readonly string[];
}

/** Runs the built `weft` under the recorder, without NODE_OPTIONS or NODE_DEBUG, which could load modules of their own. */
async function runRecorded(args: readonly string[]): Promise<RecordedRun> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-help-'));
  const log = join(dir, 'loaded.log');
  const env: NodeJS.ProcessEnv = { ...process.env, WEFT_RECORD_LOADS: log };
  delete env.NODE_OPTIONS;
  delete env.NODE_DEBUG;
  try {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, ['--import', RECORDER, WEFT_BIN, ...args], { env, timeout: 15_000 }, (error, out) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: out });
      });
    });
    // No log at all means the recorder never ran: an empty list, which the checks below refuse.
    const text = await readFile(log, 'utf8').catch(() => '');
    return { code, stdout, loaded: text.split('\n').filter((line) => line !== '') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The npm packages the URLs are in, such as "commander" or "@opentelemetry/api". */
function packagesOf(urls: readonly string[]): string[] {
  const names = new Set<string>();
  for (const url of urls) {
    const name = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
    if (name !== undefined) names.add(name);
  }
  return [...names].sort();
}

describe('weft help', () => {
  it.each([[['--help']], [['proxy', '--help']], [['ca', 'rotate', '--help']]])('%j loads no package but commander', async (args) => {
    const run = await runRecorded(args);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: weft/);
    expect(run.loaded.some((url) => url.endsWith('/dist/cli/main.js'))).toBe(true);
    expect(packagesOf(run.loaded)).toEqual(['commander']);
  });

  it('sees the packages a command loads, so that the check above can fail', async () => {
    const run = await runRecorded(['apply', '-f', fileURLToPath(new URL('./absent-policy.yaml', import.meta.url))]);
    expect(run.code).toBe(1);
    expect(packagesOf(run.loaded)).toContain('zod');
  });
});
