// CLI: `weft demo` (what `npm start` runs): a whole mesh on this machine with bounded background traffic.
import type { Command } from 'commander';
import { integerFlag } from '../flag-parsers.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run a demo mesh: control plane (embedded store), 3 greeter instances, a frontend, background traffic')
    .option('--duration <seconds>', 'stop by itself after this many seconds', integerFlag(1, 86_400, ' s'))
    .option('--rate <rps>', 'background requests per second', integerFlag(1, 200), 5)
    .option('--data-dir <dir>', 'data directory of the demo control plane', '.weft/demo')
    .action(async (options: { duration?: number; rate: number; dataDir: string }) => {
      const { runDemo } = await import('../demo-mesh.js');
      const code = await runDemo({ dataDir: options.dataDir, durationSeconds: options.duration, rate: options.rate, out: process.stdout });
      process.exit(code);
    });
}
