// Test support: runs `promtool check metrics` on a Prometheus text exposition.
import { spawn } from 'node:child_process';

/** promtool's exit code (0 clean, 1 parse error, 3 lint findings) and what it printed. */
export function checkMetrics(promtool: string, text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
    child.stdin.end(text);
  });
}
