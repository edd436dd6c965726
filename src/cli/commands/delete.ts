// CLI: `weft delete policy NAME` removes a service's policy; its sidecars fall back to the defaults.
import { InvalidArgumentError, type Command } from 'commander';
import { ControlClient } from '../../resolve/index.js';
import { controlUrls, controlUrlOption, type ControlUrlOptions } from '../control-url.js';
import { serviceFlag } from '../flag-parsers.js';

function kindArg(value: string): 'policy' {
  if (value !== 'policy') throw new InvalidArgumentError(`expected policy, got "${value}"`);
  return value;
}

export function registerDeleteCommand(program: Command): void {
  controlUrlOption(program.command('delete'))
    .description("delete a service's policy")
    .argument('<kind>', 'what to delete: policy', kindArg)
    .argument('<name>', 'service name', serviceFlag)
    .action(async (_kind: string, name: string, options: ControlUrlOptions) => {
      const client = new ControlClient(controlUrls(options));
      try {
        await client.deletePolicy(name);
        process.stdout.write(`policy/${name} deleted\n`);
      } finally {
        client.close();
      }
    });
}
