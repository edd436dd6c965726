// CLI: the --kind flag of `weft get policy` and `weft delete policy`, naming ServicePolicy or a table kind.
import { InvalidArgumentError } from 'commander';
import { ALL_POLICY_KINDS } from '../model/index.js';

export function kindFlag(value: string): string {
  const found = ALL_POLICY_KINDS.find((kind) => kind.toLowerCase() === value.toLowerCase());
  if (found === undefined) throw new InvalidArgumentError(`expected one of: ${ALL_POLICY_KINDS.join(', ')}, got "${value}"`);
  return found;
}

export const KIND_FLAG_HELP = `policy kind: ${ALL_POLICY_KINDS.join(', ')} (any case)`;
