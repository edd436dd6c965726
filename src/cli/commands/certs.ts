// CLI: `weft certs` shows the certificate each sidecar holds, as the control plane's CA issued it, and when it expires.
import type { Command } from 'commander';
import { controlClient, controlUrlOption, type ControlUrlOptions } from '../control-url.js';
import { formatExpiry } from '../relative-time.js';
import { renderTable } from '../table.js';

export function registerCertsCommand(program: Command): void {
  controlUrlOption(program.command('certs'))
    .description('list the certificate each sidecar holds (its latest from the CA) and when it expires')
    .option('--json', 'print JSON for scripts')
    .action(async (options: ControlUrlOptions & { json?: boolean }) => {
      const client = await controlClient(options);
      try {
        const reply = await client.certificates();
        if (options.json) {
          process.stdout.write(JSON.stringify(reply, null, 2) + '\n');
          return;
        }
        const now = Date.now();
        const rows = reply.certificates.map((c) => [
          c.service,
          c.sidecar,
          c.instance ?? '-',
          c.serial,
          c.signedBy.slice(0, 16),
          `${c.notAfter} (${formatExpiry(Date.parse(c.notAfter), now)})`,
        ]);
        process.stdout.write(renderTable(['SERVICE', 'SIDECAR', 'INSTANCE', 'SERIAL', 'SIGNED-BY', 'EXPIRES'], rows));
      } finally {
        client.close();
      }
    });
}
