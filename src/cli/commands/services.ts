// CLI: `weft services` lists the registered services.
import type { Command } from 'commander';
import { renderTable } from '../table.js';
import { controlClient, controlUrlOption, type ControlUrlOptions } from '../control-url.js';

export function registerServicesCommand(program: Command): void {
  controlUrlOption(program.command('services'))
    .description('list registered services with their instance counts')
    .option('--json', 'print JSON for scripts')
    .action(async (options: ControlUrlOptions & { json?: boolean }) => {
      const client = await controlClient(options);
      const reply = await client.services();
      if (options.json) {
        process.stdout.write(JSON.stringify(reply, null, 2) + '\n');
        return;
      }
      const rows = reply.services.map((s) => [s.name, String(s.instances), String(s.passing), String(s.critical)]);
      process.stdout.write(renderTable(['SERVICE', 'INSTANCES', 'PASSING', 'CRITICAL'], rows));
    });
}
