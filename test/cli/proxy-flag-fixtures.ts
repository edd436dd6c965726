// Test fixtures for the CLI: the sidecar flags parsed as `weft proxy` parses them, errors thrown instead of exiting.
import { Command } from 'commander';
import { addProxyOptions, type ProxyCommandOptions } from '../../src/cli/proxy-options.js';

export function parseProxyFlags(args: string[]): ProxyCommandOptions {
  const command = addProxyOptions(new Command('proxy').exitOverride().configureOutput({ writeErr: () => {} }));
  command.parse(args, { from: 'user' });
  return command.opts<ProxyCommandOptions>();
}
