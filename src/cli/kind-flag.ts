// CLI: the --kind flag of `weft get policy` and `weft delete policy`, naming ServicePolicy or a table kind, and how commands name a policy.
import { InvalidArgumentError } from 'commander';
import { ALL_POLICY_KINDS, POLICY_KIND } from '../model/policy-kind-names.js';

export function kindFlag(value: string): string {
  const found = ALL_POLICY_KINDS.find((kind) => kind.toLowerCase() === value.toLowerCase());
  if (found === undefined) throw new InvalidArgumentError(`expected one of: ${ALL_POLICY_KINDS.join(', ')}, got "${value}"`);
  return found;
}

export const KIND_FLAG_HELP = `policy kind: ${ALL_POLICY_KINDS.join(', ')} (any case)`;

/** "policy/api" for a ServicePolicy (as before kinds), "authorizationpolicy/api" for the others. */
export function policyLabel(policy: { readonly kind: string; readonly service: string }): string {
  return `${policy.kind === POLICY_KIND ? 'policy' : policy.kind.toLowerCase()}/${policy.service}`;
}
