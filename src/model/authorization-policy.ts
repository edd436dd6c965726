// Model: AuthorizationPolicy — who may call a service with which method, path and headers; its strict schema.
import { z } from 'zod';
import { SERVICE_NAME } from './instance.js';

export const AUTHORIZATION_POLICY_KIND = 'AuthorizationPolicy';

export const AUTHORIZATION_ACTIONS = ['allow', 'deny'] as const;
export type AuthorizationAction = (typeof AUTHORIZATION_ACTIONS)[number];

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
const METHOD = /^[A-Z]{1,32}$/;
const SPIFFE_ID = /^spiffe:\/\/[a-z0-9.-]{1,255}(\/[A-Za-z0-9._~%!$&'()*+,;=:@-]+)*$/;
const serviceName = z.string({ error: 'expected a service name' }).regex(SERVICE_NAME, 'expected a DNS label: lowercase letters, digits and "-", 1-63 characters');
const action = z.enum(AUTHORIZATION_ACTIONS, { error: 'expected allow or deny' });
const list = <T extends z.ZodType>(item: T, what: string) => z.array(item, { error: `expected a list of ${what}` }).min(1, `expected at least one of ${what}`).max(256, `expected at most 256 ${what}`);

const fromSchema = z
  .strictObject({
    /** Calling services by name; see `allowUnauthenticatedSources` for when an unproven name counts. */
    services: list(serviceName, 'service names').optional(),
    /** Calling workloads by SPIFFE id; only a proven (authenticated) identity has one. */
    identities: list(z.string({ error: 'expected a SPIFFE id' }).regex(SPIFFE_ID, 'expected a SPIFFE id such as spiffe://weft.local/service/api'), 'SPIFFE ids').optional(),
    /** true: any caller without a proven identity. */
    unauthenticated: z.literal(true, { error: 'expected true (any caller without a proven identity)' }).optional(),
  })
  .superRefine((from, ctx) => {
    if (from.services === undefined && from.identities === undefined && from.unauthenticated === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected at least one of services, identities or unauthenticated (leave "from" out to match every caller)' });
    }
  });

const toSchema = z.strictObject({
  methods: list(z.string({ error: 'expected an HTTP method' }).regex(METHOD, 'expected an HTTP method in capitals, such as GET'), 'methods').optional(),
  pathPrefix: z.string({ error: 'expected a path starting with "/"' }).startsWith('/', 'expected a path starting with "/"').max(1024).optional(),
  headers: z
    .record(z.string().regex(HEADER_NAME, 'expected a lowercase HTTP header name'), z.string({ error: 'expected a string value (quote numbers)' }).max(1024), {
      error: (issue) => (issue.code === 'invalid_key' ? 'expected a lowercase HTTP header name' : 'expected a map of header names to values'),
    })
    .optional(),
});

const ruleSchema = z.strictObject({
  /** Left out: every caller. */
  from: fromSchema.optional(),
  /** Left out: every request. */
  to: toSchema.optional(),
  action: action.default('allow'),
});

export const authorizationPolicySchema = z.strictObject({
  kind: z.literal(AUTHORIZATION_POLICY_KIND, { error: `expected "${AUTHORIZATION_POLICY_KIND}"` }).default(AUTHORIZATION_POLICY_KIND),
  service: serviceName,
  /** What a request that no rule matches gets; deny unless told, since a policy exists to restrict. */
  default: action.default('deny'),
  /**
   * Whether `from.services` allow rules may match a caller whose name is only claimed (x-weft-source), not proven by a
   * certificate. Off by default: a claim can be forged by anyone who reaches the inbound port.
   */
  allowUnauthenticatedSources: z.boolean({ error: 'expected true or false' }).default(false),
  rules: z.array(ruleSchema, { error: 'expected a list of rules' }).max(256, 'expected at most 256 rules').default([]),
});

export type AuthorizationPolicyInput = z.input<typeof authorizationPolicySchema>;
export type AuthorizationPolicy = z.output<typeof authorizationPolicySchema>;
export type AuthorizationRule = AuthorizationPolicy['rules'][number];
