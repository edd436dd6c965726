// CLI: the `weft` command: parses argv with commander and dispatches to one module per verb.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isWeftError } from '../core/index.js';
import { installProcessFailurePolicy } from '../telemetry/process-failures.js';
// What the command modules import is loaded for `--help` too; test/cli/help-loads.test.ts keeps it to commander and
// the flag definitions, and each action imports what it runs.
import { registerApplyCommand } from './commands/apply.js';
import { registerCaCommand } from './commands/ca.js';
import { registerCertsCommand } from './commands/certs.js';
import { registerControlCommand } from './commands/control.js';
import { registerDeleteCommand } from './commands/delete.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerGetCommand } from './commands/get.js';
import { registerInstancesCommand } from './commands/instances.js';
import { registerProxyCommand } from './commands/proxy.js';
import { registerRunCommand } from './commands/run.js';
import { registerServicesCommand } from './commands/services.js';
import { registerStatCommand } from './commands/stat.js';
import { registerTokenCommand } from './commands/token.js';

function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command('weft')
    .description('weft: a service mesh for Node.js services that speak HTTP')
    .version(packageVersion())
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerControlCommand(program);
  registerProxyCommand(program);
  registerRunCommand(program);
  registerServicesCommand(program);
  registerInstancesCommand(program);
  registerStatCommand(program);
  registerApplyCommand(program);
  registerGetCommand(program);
  registerDeleteCommand(program);
  registerCertsCommand(program);
  registerCaCommand(program);
  registerDemoCommand(program);
  registerTokenCommand(program);
  for (const command of program.commands) {
    command.exitOverride().showHelpAfterError('(run with --help for usage)');
    for (const sub of command.commands) sub.exitOverride().showHelpAfterError('(run with --help for usage)');
  }
  program.commands.find((c) => c.name() === 'run')?.passThroughOptions();
  return program;
}

/** Runs the CLI; usage errors exit 2, runtime errors print one clear line and exit 1. */
export async function main(argv: readonly string[]): Promise<void> {
  installProcessFailurePolicy();
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed its message; help and version are not failures.
      process.exit(error.exitCode === 0 ? 0 : 2);
    }
    if (isWeftError(error)) {
      process.stderr.write(`weft: ${error.message} [${error.code}]\n`);
      process.exit(1);
    }
    throw error;
  }
}
