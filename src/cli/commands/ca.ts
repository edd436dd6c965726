// CLI: `weft ca status|rotate|activate|retire` shows the certificate authority and walks a root rotation one step at a time.
import type { Command } from 'commander';
import type { CaStatusReply } from '../../model/index.js';
import { CA_ROTATION_STEPS, type CaRotationStep } from '../../model/ca-rotation-steps.js';
import { controlClient, controlUrlOption, type ControlUrlOptions } from '../control-url.js';
import { formatExpiry } from '../relative-time.js';
import { renderTable } from '../table.js';

const STEP_HELP: Record<CaRotationStep, string> = {
  rotate: 'make a new root and add it to the trust bundle; the current root keeps signing',
  activate: 'sign with the new root (once every sidecar holds the two-root bundle)',
  retire: 'drop the old root from the bundle (once every certificate it signed has expired)',
};

export function registerCaCommand(program: Command): void {
  const ca = program.command('ca').description('the certificate authority: status and root rotation');
  controlUrlOption(ca.command('status'))
    .description('show the CA: source, rotation phase and roots')
    .option('--json', 'print JSON for scripts')
    .action(async (options: ControlUrlOptions & { json?: boolean }) => {
      const client = await controlClient(options);
      try {
        print(await client.caStatus(), options.json === true);
      } finally {
        client.close();
      }
    });
  for (const step of CA_ROTATION_STEPS) {
    controlUrlOption(ca.command(step))
      .description(STEP_HELP[step])
      .option('--json', 'print JSON for scripts')
      .action(async (options: ControlUrlOptions & { json?: boolean }) => {
        const client = await controlClient(options);
        try {
          print(await client.caStep(step), options.json === true);
        } finally {
          client.close();
        }
      });
  }
  for (const command of ca.commands) command.exitOverride().showHelpAfterError('(run with --help for usage)');
}

function print(status: CaStatusReply, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(status, null, 2) + '\n');
    return;
  }
  const since = status.phaseSince ? ` since ${status.phaseSince}` : '';
  process.stdout.write(`trust domain ${status.trustDomain}, ${status.source} CA, phase ${status.phase}${since}\n`);
  const now = Date.now();
  const rows = status.authorities.map((a) => [a.id.slice(0, 16), a.signing ? 'yes' : 'no', a.subject, `${a.notAfter} (${formatExpiry(Date.parse(a.notAfter), now)})`, a.fingerprintSha256]);
  process.stdout.write(renderTable(['ID', 'SIGNING', 'SUBJECT', 'EXPIRES', 'SHA-256'], rows));
}
