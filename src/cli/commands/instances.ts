// CLI: `weft instances NAME` lists the instances of one service.
import type { Command } from 'commander';
import { renderTable } from '../table.js';
import { controlClient, controlUrlOption, type ControlUrlOptions } from '../control-url.js';
import { serviceFlag } from '../flag-parsers.js';

export function registerInstancesCommand(program: Command): void {
  controlUrlOption(program.command('instances'))
    .description('list the instances of a service with address, weight and health')
    .argument('<service>', 'service name', serviceFlag)
    .option('--json', 'print JSON for scripts')
    .action(async (service: string, options: ControlUrlOptions & { json?: boolean }) => {
      const client = await controlClient(options);
      const reply = await client.instances(service);
      if (options.json) {
        process.stdout.write(JSON.stringify(reply, null, 2) + '\n');
        return;
      }
      const rows = reply.instances.map((i) => [
        i.id,
        `${i.host}:${i.port}`,
        String(i.weight),
        i.health + (i.healthReason ? ` (${i.healthReason})` : ''),
        Object.entries(i.meta).map(([k, v]) => `${k}=${v}`).join(','),
      ]);
      process.stdout.write(renderTable(['ID', 'ADDRESS', 'WEIGHT', 'HEALTH', 'META'], rows));
    });
}
