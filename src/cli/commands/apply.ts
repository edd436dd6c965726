// CLI: `weft apply -f FILE.yaml` validates policy files (any mix of kinds) locally, then stores each policy through the control-plane API.
import { InvalidArgumentError, type Command } from 'commander';
import type { AnyPolicy, PolicyDocument } from '../../config/policy-file.js';
import { ConfigError, ValidationError } from '../../core/index.js';
import { POLICY_KIND } from '../../model/policy-kind-names.js';
import type { ControlClient } from '../../workload/index.js';
import { controlClient, controlUrlOption, type ControlUrlOptions } from '../control-url.js';
import { policyLabel } from '../kind-flag.js';

function fileFlag(value: string, previous: readonly string[] = []): readonly string[] {
  if (value === '') throw new InvalidArgumentError('expected a file name, or "-" for standard input');
  return [...previous, value];
}

export function registerApplyCommand(program: Command): void {
  controlUrlOption(program.command('apply'))
    .description('store policies (ServicePolicy, AuthorizationPolicy, JwtPolicy) from YAML files (several --- documents per file; "-f -" reads standard input)')
    .requiredOption('-f, --filename <file>', 'policy file, or "-" for standard input; repeatable', fileFlag)
    .action(async (options: ControlUrlOptions & { filename: readonly string[] }) => {
      // Loaded here, not with the CLI: policies are validated with zod, which `--help` never needs.
      const { duplicateError, loadPolicyFile, policyIdentity } = await import('../../config/policy-file.js');
      // Every file is read and validated before anything is sent: a typo in the last document stores nothing.
      const documents: PolicyDocument[] = [];
      const seen = new Map<string, string>();
      for (const file of options.filename) {
        for (const document of await loadPolicyFile(file)) {
          const identity = policyIdentity(document.policy);
          const earlier = seen.get(identity);
          if (earlier !== undefined) throw duplicateError(document.source, document.policy, earlier);
          seen.set(identity, document.source);
          documents.push(document);
        }
      }
      const client = await controlClient(options);
      try {
        for (const { policy, source } of documents) {
          const reply = await store(client, policy).catch((error: unknown) => {
            // The server validates again; say which document it refused.
            if (error instanceof ValidationError) throw new ConfigError(source, error.field, bareMessage(error));
            throw error;
          });
          process.stdout.write(`${policyLabel(policy)} ${reply.changed === false ? 'unchanged' : 'configured'}\n`);
        }
      } finally {
        client.close();
      }
    });
}

function store(client: ControlClient, policy: AnyPolicy): Promise<{ readonly changed?: boolean }> {
  return policy.kind === POLICY_KIND ? client.putPolicy(policy) : client.putKindPolicy(policy.kind, policy);
}

function bareMessage(error: ValidationError): string {
  return error.field && error.message.startsWith(`${error.field}: `) ? error.message.slice(error.field.length + 2) : error.message;
}
