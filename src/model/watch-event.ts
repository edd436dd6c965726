// Model: the wire format of GET /api/v1/watch, an NDJSON stream of versioned registry changes.
import { z } from 'zod';
import { instanceSchema, type Instance } from './instance.js';
import { servicePolicySchema, type ServicePolicy } from './policy.js';
import { anyKindPolicySchema, isPolicyKind, POLICY_KINDS, type KindPolicy, type PolicyKind } from './policy-kinds.js';

/**
 * - `reset`: the full state at `version`; sent first unless the stream resumes exactly from `?since=`.
 *   `policies` is absent from servers that predate policies: read it as none.
 * - `upsert` / `remove`: one change, at `version` (strictly increasing).
 * - `policy` / `policy-remove`: a service's policy set (validated, defaults filled in) or removed, in the same version sequence.
 * - `kind-policy` / `kind-policy-remove`: the same for a policy of another kind (AuthorizationPolicy, ...); `reset`
 *   carries them in `kindPolicies` (absent from older servers: none).
 * - `ping`: keep-alive carrying the current version, every few seconds.
 */
export type WatchEvent =
  | { readonly type: 'reset'; readonly version: number; readonly instances: readonly Instance[]; readonly policies?: readonly ServicePolicy[]; readonly kindPolicies?: readonly KindPolicy[] }
  | { readonly type: 'upsert'; readonly version: number; readonly instance: Instance }
  | { readonly type: 'remove'; readonly version: number; readonly id: string; readonly service: string }
  | { readonly type: 'policy'; readonly version: number; readonly policy: ServicePolicy }
  | { readonly type: 'policy-remove'; readonly version: number; readonly service: string }
  | { readonly type: 'kind-policy'; readonly version: number; readonly policy: KindPolicy }
  | { readonly type: 'kind-policy-remove'; readonly version: number; readonly kind: PolicyKind; readonly service: string }
  | { readonly type: 'ping'; readonly version: number };

const knownEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('reset'),
    version: z.number().int().nonnegative(),
    instances: z.array(instanceSchema),
    policies: z.array(servicePolicySchema).optional(),
    kindPolicies: z.array(anyKindPolicySchema).optional(),
  }),
  z.object({ type: z.literal('upsert'), version: z.number().int().nonnegative(), instance: instanceSchema }),
  z.object({ type: z.literal('remove'), version: z.number().int().nonnegative(), id: z.string(), service: z.string() }),
  z.object({ type: z.literal('policy'), version: z.number().int().nonnegative(), policy: servicePolicySchema }),
  z.object({ type: z.literal('policy-remove'), version: z.number().int().nonnegative(), service: z.string() }),
  z.object({ type: z.literal('kind-policy'), version: z.number().int().nonnegative(), policy: anyKindPolicySchema }),
  z.object({ type: z.literal('kind-policy-remove'), version: z.number().int().nonnegative(), kind: z.enum(POLICY_KINDS as [PolicyKind, ...PolicyKind[]]), service: z.string() }),
  z.object({ type: z.literal('ping'), version: z.number().int().nonnegative() }),
]);

/**
 * Policies of a kind this build does not know (added by a newer control plane) are left out rather than refused, so
 * that a sidecar keeps following the stream: its change event reads as a ping, and a reset drops them.
 */
function dropForeignKinds(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const event = value as { type?: unknown; version?: unknown; kind?: unknown; policy?: { kind?: unknown }; kindPolicies?: unknown };
  if (event.type === 'kind-policy' && !isPolicyKind(event.policy?.kind)) return { type: 'ping', version: event.version };
  if (event.type === 'kind-policy-remove' && !isPolicyKind(event.kind)) return { type: 'ping', version: event.version };
  if (event.type === 'reset' && Array.isArray(event.kindPolicies)) {
    return { ...event, kindPolicies: event.kindPolicies.filter((p: unknown) => isPolicyKind((p as { kind?: unknown } | null)?.kind)) };
  }
  return value;
}

export const watchEventSchema = z.preprocess(dropForeignKinds, knownEventSchema);

export const WATCH_CONTENT_TYPE = 'application/x-ndjson';
export const WATCH_PING_INTERVAL_MS = 5_000;
