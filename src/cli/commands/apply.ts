// CLI: `weft apply -f FILE.yaml` validates policy files locally, then stores each policy through the control-plane API.
import { InvalidArgumentError, type Command } from 'commander';
import { loadPolicyFile, type PolicyDocument } from '../../config/index.js';
import { ConfigError, ValidationError } from '../../core/index.js';
import { ControlClient } from '../../resolve/index.js';
import { controlUrls, controlUrlOption, type ControlUrlOptions } from '../control-url.js';

function fileFlag(value: string, previous: readonly string[] = []): readonly string[] {
  if (value === '') throw new InvalidArgumentError('expected a file name, or "-" for standard input');
  return [...previous, value];
}

export function registerApplyCommand(program: Command): void {
  controlUrlOption(program.command('apply'))
    .description('store service policies from YAML files (several --- documents per file; "-f -" reads standard input)')
    .requiredOption('-f, --filename <file>', 'policy file, or "-" for standard input; repeatable', fileFlag)
    .action(async (options: ControlUrlOptions & { filename: readonly string[] }) => {
      // Every file is read and validated before anything is sent: a typo in the last document stores nothing.
      const documents: PolicyDocument[] = [];
      const seen = new Map<string, string>();
      for (const file of options.filename) {
        for (const document of await loadPolicyFile(file)) {
          const earlier = seen.get(document.policy.service);
          if (earlier !== undefined) {
            throw new ConfigError(document.source, 'service', `expected each service once; "${document.policy.service}" is already defined in ${earlier}`);
          }
          seen.set(document.policy.service, document.source);
          documents.push(document);
        }
      }
      const client = new ControlClient(controlUrls(options));
      try {
        for (const { policy, source } of documents) {
          const reply = await client.putPolicy(policy).catch((error: unknown) => {
            // The server validates again; say which document it refused.
            if (error instanceof ValidationError) throw new ConfigError(source, error.field, bareMessage(error));
            throw error;
          });
          process.stdout.write(`policy/${policy.service} ${reply.changed === false ? 'unchanged' : 'configured'}\n`);
        }
      } finally {
        client.close();
      }
    });
}

function bareMessage(error: ValidationError): string {
  return error.field && error.message.startsWith(`${error.field}: `) ? error.message.slice(error.field.length + 2) : error.message;
}
