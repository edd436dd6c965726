// Security: header conditions of authorization rules, read from raw [name, value, ...] headers without allocating.
import { sameHeaderName } from '../../http/index.js';

export { sameHeaderName };

/**
 * How repeated headers count. `every`: present, and every copy has the value — for allow rules, so a second copy
 * cannot smuggle a different value past the app. `some`: any copy has the value — for deny rules, so adding a
 * harmless first copy does not dodge a denial.
 */
export type HeaderMatchMode = 'every' | 'some';

export function headerMatches(raw: readonly string[], lowerName: string, value: string, mode: HeaderMatchMode): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    if (!sameHeaderName(raw[i]!, lowerName)) continue;
    const equal = raw[i + 1] === value;
    if (mode === 'some' && equal) return true;
    if (mode === 'every' && !equal) return false;
    seen = true;
  }
  return mode === 'every' && seen;
}
