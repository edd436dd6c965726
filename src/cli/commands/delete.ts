// CLI: `weft delete policy NAME [--kind K]` removes a service's policy of one kind (ServicePolicy unless told); its sidecars fall back to the defaults.
import { InvalidArgumentError, type Command } from 'commander';
import { isPolicyKind, POLICY_KIND } from '../../model/policy-kind-names.js';
import { controlClient, controlUrlOption, type ControlUrlOptions } from '../control-url.js';
import { serviceFlag } from '../flag-parsers.js';
import { KIND_FLAG_HELP, kindFlag, policyLabel } from '../kind-flag.js';

function kindArg(value: string): 'policy' {
  if (value !== 'policy') throw new InvalidArgumentError(`expected policy, got "${value}"`);
  return value;
}

export function registerDeleteCommand(program: Command): void {
  controlUrlOption(program.command('delete'))
    .description("delete a service's policy (a ServicePolicy unless --kind says otherwise)")
    .argument('<kind>', 'what to delete: policy', kindArg)
    .argument('<name>', 'service name', serviceFlag)
    .option('--kind <kind>', `${KIND_FLAG_HELP}; default ${POLICY_KIND}`, kindFlag, POLICY_KIND)
    .action(async (_what: string, name: string, options: ControlUrlOptions & { kind: string }) => {
      const client = await controlClient(options);
      try {
        if (isPolicyKind(options.kind)) await client.deleteKindPolicy(options.kind, name);
        else await client.deletePolicy(name);
        process.stdout.write(`${policyLabel({ kind: options.kind, service: name })} deleted\n`);
      } finally {
        client.close();
      }
    });
}
