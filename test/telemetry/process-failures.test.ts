// Tests for the process failure policy: an unhandled rejection is logged and counted while serving goes on; an uncaught exception exits 1.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const policy = fileURLToPath(new URL('../../src/telemetry/process-failures.ts', import.meta.url));

/** Runs a small ESM script under tsx in a child process, bounded in time. */
function run(body: string): { status: number | null; stdout: string; stderr: string } {
  const script = `import { installProcessFailurePolicy, registerProcessFailureMetrics } from ${JSON.stringify(policy)};\nimport { Registry } from 'prom-client';\n${body}`;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, cwd: fileURLToPath(new URL('../..', import.meta.url)) });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('process failure policy', () => {
  it('logs and counts an unhandled rejection, and the process keeps serving', () => {
    const result = run(`
      installProcessFailurePolicy();
      const registry = new Registry();
      registerProcessFailureMetrics(registry);
      void Promise.reject(new Error('a background task failed'));
      setTimeout(async () => {
        const text = await registry.metrics();
        console.log(text.split('\\n').find((l) => l.startsWith('weft_unhandled_rejections_total ')));
        console.log('still serving');
      }, 200);
    `);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('weft_unhandled_rejections_total 1');
    expect(result.stdout).toContain('still serving');
    expect(result.stderr).toContain('unhandled promise rejection');
    expect(result.stderr).toContain('a background task failed');
  });

  it('logs an uncaught exception and exits 1', () => {
    const result = run(`
      installProcessFailurePolicy();
      setTimeout(() => { throw new Error('state unknown'); }, 10);
      setTimeout(() => console.log('should not run'), 500);
    `);
    expect(result.status).toBe(1);
    expect(result.stdout).not.toContain('should not run');
    expect(result.stderr).toContain('uncaught exception');
  });
});
