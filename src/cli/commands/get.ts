// CLI: `weft get policies [--kind K]` lists policies of every kind as a table; `weft get policy NAME [--kind K] -o yaml|json` prints one in full.
import { InvalidArgumentError, type Command } from 'commander';
import type { AnyPolicy } from '../../config/index.js';
import type { KindPolicy, ServicePolicy } from '../../model/index.js';
import { isPolicyKind, POLICY_KIND, TABLE_POLICY_KIND_NAMES } from '../../model/policy-kind-names.js';
import { renderTable } from '../table.js';
import { controlClient, controlUrlOption, type ControlUrlOptions } from '../control-url.js';
import { serviceFlag } from '../flag-parsers.js';
import { KIND_FLAG_HELP, kindFlag } from '../kind-flag.js';

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
    .description('show policies: "get policies" as a table of every kind, "get policy NAME" in full (a ServicePolicy unless --kind says otherwise)')
    .argument('<kind>', `what to show: ${KINDS.join(' or ')}`, kindArg)
    .argument('[name]', 'service name (shows that one policy)', serviceFlag)
    .option('-o, --output <format>', `output format: ${FORMATS.join(', ')} (default: table for a list, yaml for one policy)`, formatFlag)
    .option('--json', 'print JSON for scripts (same as -o json)')
    .option('--kind <kind>', `${KIND_FLAG_HELP}; a list shows every kind unless told, one policy is a ${POLICY_KIND} unless told`, kindFlag)
    .action(async (_what: string, name: string | undefined, options: ControlUrlOptions & { output?: Format; json?: boolean; kind?: string }) => {
      const client = await controlClient(options);
      try {
        if (name !== undefined) {
          const kind = options.kind ?? POLICY_KIND;
          const { policy } = isPolicyKind(kind) ? await client.kindPolicy(kind, name) : await client.policy(name);
          process.stdout.write(await render([policy], options.json ? 'json' : (options.output ?? 'yaml'), true));
          return;
        }
        const policies: AnyPolicy[] = [];
        if (options.kind === undefined || options.kind === POLICY_KIND) policies.push(...(await client.policies()).policies);
        for (const kind of TABLE_POLICY_KIND_NAMES) if (options.kind === undefined || options.kind === kind) policies.push(...(await client.kindPolicies(kind)).policies);
        process.stdout.write(await render(policies, options.json ? 'json' : (options.output ?? 'table'), false));
      } finally {
        client.close();
      }
    });
}

async function render(policies: readonly AnyPolicy[], format: Format, single: boolean): Promise<string> {
  if (format === 'json') return JSON.stringify(single ? policies[0] : policies, null, 2) + '\n';
  if (format === 'yaml') {
    // The YAML library is loaded only to print YAML.
    const { stringify } = await import('yaml');
    // Several policies as YAML documents: the output can be fed back to `weft apply -f -`.
    return policies.map((p) => stringify(p)).join('---\n');
  }
  return renderTable(['KIND', 'SERVICE', 'LB', 'RETRY', 'TIMEOUT', 'ROUTES', 'RULES'], policies.map(row));
}

function row(policy: AnyPolicy): string[] {
  if (policy.kind === POLICY_KIND) return [policy.kind, ...servicePolicyRow(policy)];
  return [policy.kind, policy.service, '-', '-', '-', '-', kindPolicyRules(policy)];
}

function kindPolicyRules(policy: KindPolicy): string {
  if (policy.kind === 'JwtPolicy') return `${plural(policy.providers.length, 'provider')}, ${plural(policy.rules.length, 'rule')}`;
  return `default ${policy.default}, ${plural(policy.rules.length, 'rule')}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** What the service's own sidecars enforce: rate limits, and the mTLS mode when the policy sets one. */
function servicePolicyRules(policy: ServicePolicy): string {
  const parts: string[] = [];
  if (policy.rateLimits !== undefined && policy.rateLimits.length > 0) parts.push(plural(policy.rateLimits.length, 'rate limit'));
  if (policy.mtls !== undefined) parts.push(`mtls ${policy.mtls}`);
  return parts.length === 0 ? '-' : parts.join(', ');
}

function servicePolicyRow(policy: ServicePolicy): string[] {
  const { loadBalancer: lb, retry, timeout } = policy;
  const hash = lb.hashOn ? `(${lb.hashOn.header !== undefined ? `header:${lb.hashOn.header}` : lb.hashOn.cookie !== undefined ? `cookie:${lb.hashOn.cookie}` : 'source'})` : '';
  return [
    policy.service,
    lb.algorithm + hash,
    retry.attempts <= 1 ? 'off' : `${retry.attempts}x ${retry.on.join(',')}`,
    timeout.perTryMs === timeout.requestMs ? `${timeout.requestMs}ms` : `${timeout.requestMs}ms/${timeout.perTryMs}ms per try`,
    String(policy.routes.length),
    servicePolicyRules(policy),
  ];
}
