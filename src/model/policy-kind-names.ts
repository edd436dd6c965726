// Model: the names of the policy kinds, ServicePolicy and those of policy-kinds.ts's table; without zod, so that the CLI's --kind flag and help can name them cheaply.

/** The first kind, which keeps its own plumbing (its `policies/` keys, API paths and watch events). */
export const POLICY_KIND = 'ServicePolicy';

/** The kinds stored beside ServicePolicy; POLICY_KIND_TABLE has exactly these keys (the compiler checks it). */
export const TABLE_POLICY_KIND_NAMES = ['AuthorizationPolicy', 'JwtPolicy'] as const;
export type PolicyKind = (typeof TABLE_POLICY_KIND_NAMES)[number];

/** ServicePolicy and every table kind, as `weft apply` and `weft get --kind` accept them. */
export const ALL_POLICY_KINDS: readonly string[] = [POLICY_KIND, ...TABLE_POLICY_KIND_NAMES];

export function isPolicyKind(value: unknown): value is PolicyKind {
  return typeof value === 'string' && (TABLE_POLICY_KIND_NAMES as readonly string[]).includes(value);
}
