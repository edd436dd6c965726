// CLI: `weft get policies` lists service policies as a table; `weft get policy NAME -o yaml|json` prints one in full.
import { InvalidArgumentError, type Command } from 'commander';
import { stringify } from 'yaml';
import type { ServicePolicy } from '../../model/index.js';
import { ControlClient } from '../../resolve/index.js';
import { renderTable } from '../table.js';
import { controlUrls, controlUrlOption, type ControlUrlOptions } from '../control-url.js';
import { serviceFlag } from '../flag-parsers.js';

const KINDS = ['policies', 'policy'] as const;
const FORMATS = ['table', 'yaml', 'json'] as const;
type Format = (typeof FORMATS)[number];

function kindArg(value: string): (typeof KINDS)[number] {
  if (!(KINDS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of: ${KINDS.join(', ')}, got "${value}"`);
  return value as (typeof KINDS)[number];
}

function formatFlag(value: string): Format {
  if (!(FORMATS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of: ${FORMATS.join(', ')}, got "${value}"`);
  return value as Format;
}

export function registerGetCommand(program: Command): void {
  controlUrlOption(program.command('get'))
    .description('show service policies: "get policies" as a table, "get policy NAME" in full')
    .argument('<kind>', `what to show: ${KINDS.join(' or ')}`, kindArg)
    .argument('[name]', 'service name (shows that one policy)', serviceFlag)
    .option('-o, --output <format>', `output format: ${FORMATS.join(', ')} (default: table for a list, yaml for one policy)`, formatFlag)
    .option('--json', 'print JSON for scripts (same as -o json)')
    .action(async (_kind: string, name: string | undefined, options: ControlUrlOptions & { output?: Format; json?: boolean }) => {
      const client = new ControlClient(controlUrls(options));
      try {
        if (name !== undefined) {
          const { policy } = await client.policy(name);
          process.stdout.write(render([policy], options.json ? 'json' : (options.output ?? 'yaml'), true));
          return;
        }
        const { policies } = await client.policies();
        process.stdout.write(render(policies, options.json ? 'json' : (options.output ?? 'table'), false));
      } finally {
        client.close();
      }
    });
}

function render(policies: readonly ServicePolicy[], format: Format, single: boolean): string {
  if (format === 'json') return JSON.stringify(single ? policies[0] : policies, null, 2) + '\n';
  // Several policies as YAML documents: the output can be fed back to `weft apply -f -`.
  if (format === 'yaml') return policies.map((p) => stringify(p)).join('---\n');
  return renderTable(['SERVICE', 'LB', 'RETRY', 'TIMEOUT', 'ROUTES'], policies.map(row));
}

function row(policy: ServicePolicy): string[] {
  const { loadBalancer: lb, retry, timeout } = policy;
  const hash = lb.hashOn ? `(${lb.hashOn.header !== undefined ? `header:${lb.hashOn.header}` : lb.hashOn.cookie !== undefined ? `cookie:${lb.hashOn.cookie}` : 'source'})` : '';
  return [
    policy.service,
    lb.algorithm + hash,
    retry.attempts <= 1 ? 'off' : `${retry.attempts}x ${retry.on.join(',')}`,
    timeout.perTryMs === timeout.requestMs ? `${timeout.requestMs}ms` : `${timeout.requestMs}ms/${timeout.perTryMs}ms per try`,
    String(policy.routes.length),
  ];
}
