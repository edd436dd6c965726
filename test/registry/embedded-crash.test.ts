// Registry: the embedded store loses no acknowledged write when its process is killed with SIGKILL mid-stream.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedBackend } from '../../src/registry/index.js';
import { createRuntime } from '../../src/telemetry/index.js';

const fixture = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
const runtime = () => createRuntime({ name: 'test', processMetrics: false, logger: pino({ level: 'silent' }) });
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Runs the writer until it has acknowledged `acks` puts, SIGKILLs it, and returns every acknowledged "key seq" line. */
function runAndKill(dir: string, prefix: string, acks: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[] = [];
    let partial = '';
    let stderr = '';
    let killed = false;
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`writer did not reach ${acks} acks in time (got ${acked.length}); stderr: ${stderr}`));
    }, 60_000);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      acked.push(...lines);
      if (!killed && acked.length >= acks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(deadline);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited by itself (${code}); stderr: ${stderr}`));
      else resolve(acked);
    });
  });
}

describe('embedded store under kill -9', () => {
  it('keeps every acknowledged put across repeated SIGKILLs (with compaction in between)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-crash-'));
    dirs.push(dir);
    const everAcked: string[] = [];
    let lastRevision = 0;
    for (let round = 0; round < 3; round++) {
      const acked = await runAndKill(dir, `r${round}`, 300 + round * 200);
      everAcked.push(...acked);
      const store = await EmbeddedBackend.open(dir, runtime());
      try {
        const stored = new Map((await store.list('')).items.map((i) => [i.key, Number(new TextDecoder().decode(i.value).split(' ')[0])]));
        // Every acknowledged put is there, or was overwritten by a later one of the same key.
        const lost = everAcked.filter((line) => {
          const [key, seq] = line.split(' ');
          return !((stored.get(key!) ?? -1) >= Number(seq));
        });
        expect(lost).toEqual([]);
        expect(store.revision()).toBeGreaterThanOrEqual(lastRevision + acked.length);
        lastRevision = store.revision();
      } finally {
        await store.close();
      }
    }
  }, 180_000);
});
