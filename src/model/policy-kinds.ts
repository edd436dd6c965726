// Model: the policy kinds stored beside ServicePolicy — one table entry per kind (schema, store key prefix, API path) drives store, API, watch, snapshots and CLI.
import { z } from 'zod';
import { ValidationError } from '../core/index.js';
import { authorizationPolicySchema } from './authorization-policy.js';
import { jwtPolicySchema, jwtPolicyWriteProblem } from './jwt-policy.js';
import { isPolicyKind, type PolicyKind } from './policy-kind-names.js';
import { parseOrThrow } from './validate.js';

export { ALL_POLICY_KINDS, isPolicyKind, type PolicyKind } from './policy-kind-names.js';

/**
 * Every kind here is keyed by its `service` field (one policy of each kind per service). ServicePolicy keeps its own
 * older plumbing (`policies/` keys, /api/v1/policies, `policy` watch events) so that existing scripts keep working.
 */
export const POLICY_KIND_TABLE = {
  AuthorizationPolicy: { schema: authorizationPolicySchema, keyPrefix: 'authorization-policies/', apiPath: 'authorization-policies' },
  JwtPolicy: { schema: jwtPolicySchema, keyPrefix: 'jwt-policies/', apiPath: 'jwt-policies' },
} as const satisfies Record<PolicyKind, unknown>;

export type PolicyOfKind<K extends PolicyKind> = z.output<(typeof POLICY_KIND_TABLE)[K]['schema']>;
/** A validated policy of any table kind; its `kind` field tells which. */
export type KindPolicy = { [K in PolicyKind]: PolicyOfKind<K> }[PolicyKind];
/** Every table kind's policies by service, as a snapshot holds them. */
export type KindPolicyMaps = { readonly [K in PolicyKind]: ReadonlyMap<string, PolicyOfKind<K>> };

export const POLICY_KINDS = Object.keys(POLICY_KIND_TABLE) as PolicyKind[];

export const EMPTY_KIND_POLICIES: KindPolicyMaps = Object.freeze(kindPolicyMaps([]));

/** Validates and defaults a policy of a table kind; a ValidationError names the first offending field path. */
export function parseKindPolicy<K extends PolicyKind>(kind: K, input: unknown): PolicyOfKind<K> {
  return parseOrThrow(POLICY_KIND_TABLE[kind].schema, input) as PolicyOfKind<K>;
}

/** Validates a policy that names its own kind (stored values, watch events). */
export function parseAnyKindPolicy(input: unknown): KindPolicy {
  const kind = typeof input === 'object' && input !== null ? (input as { kind?: unknown }).kind : undefined;
  if (!isPolicyKind(kind)) throw new ValidationError('kind', `expected one of: ${POLICY_KINDS.join(', ')}`);
  return parseKindPolicy(kind, input);
}

/** Schema form of parseAnyKindPolicy, for the watch wire format. */
export const anyKindPolicySchema = z.unknown().transform((value, ctx): KindPolicy => {
  try {
    return parseAnyKindPolicy(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'invalid policy' });
    return z.NEVER;
  }
});

/** A copy of `maps` with one kind's policy set (or removed when `policy` is undefined); the other kinds keep their identity. */
export function withKindPolicy(maps: KindPolicyMaps, kind: PolicyKind, service: string, policy: KindPolicy | undefined): KindPolicyMaps {
  const next = new Map<string, KindPolicy>(maps[kind]);
  if (policy === undefined) next.delete(service);
  else next.set(service, policy);
  return { ...maps, [kind]: next };
}

/** Groups policies of any table kind by kind and service. */
export function kindPolicyMaps(policies: Iterable<KindPolicy>): KindPolicyMaps {
  const out = Object.fromEntries(POLICY_KINDS.map((kind) => [kind, new Map<string, KindPolicy>()])) as Record<PolicyKind, Map<string, KindPolicy>>;
  for (const policy of policies) out[policy.kind].set(policy.service, policy);
  return out as unknown as KindPolicyMaps;
}

/**
 * Why a policy that reads back must not be stored again, or undefined: rules tightened since older versions apply to
 * writes (the API's and `weft apply`'s), while copies already stored still read back.
 */
export function kindPolicyWriteProblem(policy: KindPolicy): { field: string; message: string } | undefined {
  return policy.kind === 'JwtPolicy' ? jwtPolicyWriteProblem(policy) : undefined;
}
