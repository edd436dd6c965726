// Model: a service's traffic policy (balancing, timeouts, retries, breaking, ejection, health checks, routes), its strict schema and the one place its defaults live.
import { z } from 'zod';
import { balancerKindSchema } from './balancer-kind.js';
import { SERVICE_NAME } from './instance.js';
import { POLICY_KIND } from './policy-kind-names.js';
import { parseOrThrow } from './validate.js';

export { POLICY_KIND };

/** strict: mTLS only, plaintext refused; permissive: mTLS or plaintext on one port; disabled: plaintext only. */
export const MTLS_MODES = ['strict', 'permissive', 'disabled'] as const;
export type MtlsMode = (typeof MTLS_MODES)[number];

export { GRPC_RETRY_CONDITIONS, RETRY_CONDITIONS } from './retry-condition-names.js';
import { RETRY_CONDITIONS } from './retry-condition-names.js';
export type RetryCondition = (typeof RETRY_CONDITIONS)[number];
/** A named condition, or a retriable status code such as "503". */
export type RetryOn = RetryCondition | `${number}`;
/** The statuses that `gateway-error` stands for. */
export const GATEWAY_ERROR_STATUSES: readonly number[] = [502, 503, 504];

/**
 * Every default of a policy. A section left out of a policy gets these values, except outlierDetection and
 * healthCheck, which are off unless the section is present (then their unset fields come from here).
 * Retries keep the foundation's behaviour by default: connect failures on any method, resets on idempotent ones.
 */
export const POLICY_DEFAULTS = {
  loadBalancer: { algorithm: 'round-robin' },
  /** perTryMs defaults to requestMs: one try may use the whole request budget. */
  timeout: { requestMs: 15_000 },
  retry: {
    attempts: 3,
    on: ['connect-failure', 'reset', 'unavailable'],
    budget: { ratio: 0.2, minPerSecond: 10 },
    backoff: { baseMs: 25, maxMs: 250 },
  },
  /** Generous limits; consecutiveFailures 0 leaves the consecutive-failure breaker off. */
  circuitBreaker: { maxConnections: 1024, maxPendingRequests: 1024, consecutiveFailures: 0, openMs: 10_000 },
  outlierDetection: { consecutive5xx: 5, consecutiveGatewayErrors: 5, baseEjectionMs: 30_000, maxEjectionPercent: 50 },
  healthCheck: { intervalMs: 5_000, timeoutMs: 1_000, unhealthyThreshold: 2, healthyThreshold: 2 },
  route: { pathPrefix: '/', backendWeight: 1, nonIdempotent: false },
} as const;

const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
const STATUS_CODE = /^[1-5][0-9][0-9]$/;

const whole = (min: number, max: number, unit = '') => {
  const message = `expected a whole number${unit} from ${min} to ${max}`;
  return z.number({ error: message }).int(message).min(min, message).max(max, message);
};
const millis = (min: number, max: number) => whole(min, max, ' of milliseconds');
const fraction = (max: number, what: string) => {
  const message = `expected ${what} from 0 to ${max}`;
  return z.number({ error: message }).min(0, message).max(max, message);
};
const bool = z.boolean({ error: 'expected true or false' });
const metaMap = z.record(
  z.string().min(1, 'expected a non-empty metadata key').max(128, 'expected a metadata key of at most 128 characters'),
  z.string({ error: 'expected a string value (quote numbers)' }).max(512, 'expected at most 512 characters'),
  { error: (issue) => (issue.code === 'invalid_key' ? 'expected a metadata key of 1-128 characters' : 'expected a map of metadata keys to values') },
);

const hashOnSchema = z
  .strictObject({
    header: z.string({ error: 'expected a lowercase HTTP header name' }).regex(HEADER_NAME, 'expected a lowercase HTTP header name').optional(),
    cookie: z.string({ error: 'expected a cookie name' }).regex(TOKEN, 'expected a cookie name').optional(),
    source: z.literal(true, { error: 'expected true (hash on the client address)' }).optional(),
  })
  .superRefine((hashOn, ctx) => {
    const set = [hashOn.header, hashOn.cookie, hashOn.source].filter((v) => v !== undefined).length;
    if (set !== 1) ctx.addIssue({ code: 'custom', message: 'expected exactly one of header, cookie or source' });
  });

const loadBalancerSchema = z
  .strictObject({
    algorithm: balancerKindSchema.default(POLICY_DEFAULTS.loadBalancer.algorithm),
    hashOn: hashOnSchema.optional(),
  })
  .superRefine((lb, ctx) => {
    if (lb.algorithm === 'ring-hash' && !lb.hashOn) ctx.addIssue({ code: 'custom', path: ['hashOn'], message: 'expected { header }, { cookie } or { source: true } for ring-hash' });
    if (lb.algorithm !== 'ring-hash' && lb.hashOn) ctx.addIssue({ code: 'custom', path: ['hashOn'], message: 'expected only with algorithm ring-hash' });
  });

const timeoutSchema = z
  .strictObject({
    requestMs: millis(1, 3_600_000).default(POLICY_DEFAULTS.timeout.requestMs),
    perTryMs: millis(1, 3_600_000).optional(),
  })
  .superRefine((t, ctx) => {
    if (t.perTryMs !== undefined && t.perTryMs > t.requestMs) ctx.addIssue({ code: 'custom', path: ['perTryMs'], message: `expected at most requestMs (${t.requestMs})` });
  })
  .transform((t) => ({ requestMs: t.requestMs, perTryMs: t.perTryMs ?? t.requestMs }));

const retryOnMessage = `expected one of: ${RETRY_CONDITIONS.join(', ')}, or an HTTP status code as a string such as "503"`;
const retryOnSchema = z
  .union([z.string(), z.number()], { error: retryOnMessage })
  .transform((value) => String(value))
  .refine((value) => (RETRY_CONDITIONS as readonly string[]).includes(value) || STATUS_CODE.test(value), retryOnMessage)
  .transform((value) => value as RetryOn);

const retrySchema = z.strictObject({
  attempts: whole(1, 10).default(POLICY_DEFAULTS.retry.attempts),
  on: z
    .array(retryOnSchema, { error: 'expected a list of retry conditions' })
    .min(1, 'expected at least one condition (attempts: 1 turns retries off)')
    .max(32, 'expected at most 32 conditions')
    .default(() => [...POLICY_DEFAULTS.retry.on]),
  budget: z
    .strictObject({
      ratio: fraction(1, 'a number').default(POLICY_DEFAULTS.retry.budget.ratio),
      minPerSecond: whole(0, 100_000).default(POLICY_DEFAULTS.retry.budget.minPerSecond),
    })
    .prefault({}),
  backoff: z
    .strictObject({
      baseMs: millis(1, 60_000).default(POLICY_DEFAULTS.retry.backoff.baseMs),
      maxMs: millis(1, 600_000).default(POLICY_DEFAULTS.retry.backoff.maxMs),
    })
    .superRefine((b, ctx) => {
      if (b.maxMs < b.baseMs) ctx.addIssue({ code: 'custom', path: ['maxMs'], message: `expected at least baseMs (${b.baseMs})` });
    })
    .prefault({}),
});

const circuitBreakerSchema = z.strictObject({
  maxConnections: whole(1, 1_000_000).default(POLICY_DEFAULTS.circuitBreaker.maxConnections),
  maxPendingRequests: whole(1, 1_000_000).default(POLICY_DEFAULTS.circuitBreaker.maxPendingRequests),
  consecutiveFailures: whole(0, 10_000).default(POLICY_DEFAULTS.circuitBreaker.consecutiveFailures),
  openMs: millis(100, 3_600_000).default(POLICY_DEFAULTS.circuitBreaker.openMs),
});

const outlierDetectionSchema = z.strictObject({
  consecutive5xx: whole(0, 10_000).default(POLICY_DEFAULTS.outlierDetection.consecutive5xx),
  consecutiveGatewayErrors: whole(0, 10_000).default(POLICY_DEFAULTS.outlierDetection.consecutiveGatewayErrors),
  baseEjectionMs: millis(100, 3_600_000).default(POLICY_DEFAULTS.outlierDetection.baseEjectionMs),
  maxEjectionPercent: fraction(100, 'a percentage').default(POLICY_DEFAULTS.outlierDetection.maxEjectionPercent),
});

const healthCheckSchema = z
  .strictObject({
    http: z.strictObject({ path: z.string({ error: 'expected an HTTP path starting with "/"' }).startsWith('/', 'expected an HTTP path starting with "/"').max(1024) }).optional(),
    tcp: z.strictObject({}).optional(),
    grpc: z.strictObject({ service: z.string({ error: 'expected a gRPC service name' }).max(256).optional() }).optional(),
    intervalMs: millis(100, 600_000).default(POLICY_DEFAULTS.healthCheck.intervalMs),
    timeoutMs: millis(10, 60_000).default(POLICY_DEFAULTS.healthCheck.timeoutMs),
    unhealthyThreshold: whole(1, 100).default(POLICY_DEFAULTS.healthCheck.unhealthyThreshold),
    healthyThreshold: whole(1, 100).default(POLICY_DEFAULTS.healthCheck.healthyThreshold),
  })
  .superRefine((h, ctx) => {
    const set = [h.http, h.tcp, h.grpc].filter((v) => v !== undefined).length;
    if (set !== 1) ctx.addIssue({ code: 'custom', message: 'expected exactly one of http: { path }, tcp: {} or grpc: { service? }' });
    if (h.timeoutMs > h.intervalMs) ctx.addIssue({ code: 'custom', path: ['timeoutMs'], message: `expected at most intervalMs (${h.intervalMs})` });
  });

const routeSchema = z
  .strictObject({
    match: z
      .strictObject({
        headers: z
          .record(z.string().regex(HEADER_NAME, 'expected a lowercase HTTP header name'), z.string({ error: 'expected a string value (quote numbers)' }).max(1024), {
            error: (issue) => (issue.code === 'invalid_key' ? 'expected a lowercase HTTP header name' : 'expected a map of header names to values'),
          })
          .default({}),
        pathPrefix: z.string({ error: 'expected a path starting with "/"' }).startsWith('/', 'expected a path starting with "/"').max(1024).default(POLICY_DEFAULTS.route.pathPrefix),
      })
      .prefault({}),
    backends: z
      .array(z.strictObject({ subset: metaMap.default({}), weight: whole(0, 10_000).default(POLICY_DEFAULTS.route.backendWeight) }), {
        error: 'expected a list of backends',
      })
      .min(1, 'expected at least one backend')
      .max(64, 'expected at most 64 backends'),
    retry: z.strictObject({ nonIdempotent: bool.default(POLICY_DEFAULTS.route.nonIdempotent) }).prefault({}),
    fault: z
      .strictObject({
        delay: z.strictObject({ percent: fraction(100, 'a percentage'), ms: millis(0, 3_600_000) }).optional(),
        abort: z.strictObject({ percent: fraction(100, 'a percentage'), status: whole(200, 599) }).optional(),
      })
      .optional(),
  })
  .superRefine((route, ctx) => {
    if (route.backends.every((b) => b.weight === 0)) ctx.addIssue({ code: 'custom', path: ['backends'], message: 'expected at least one backend with a weight above 0' });
  });

/** A local token bucket on the destination's inbound side; the first rule whose match fits a request applies. */
const rateLimitSchema = z
  .strictObject({
    match: z
      .strictObject({
        pathPrefix: z.string({ error: 'expected a path starting with "/"' }).startsWith('/', 'expected a path starting with "/"').max(1024).default('/'),
      })
      .prefault({}),
    /** One bucket per calling identity (capped in number) instead of one for all callers. */
    perSource: bool.default(false),
    requestsPerSecond: z.number({ error: 'expected a number of requests per second above 0, at most 1000000' }).positive('expected a number of requests per second above 0, at most 1000000').max(1_000_000, 'expected a number of requests per second above 0, at most 1000000'),
    /** Requests allowed at once from a full bucket; defaults to requestsPerSecond rounded up. */
    burst: whole(1, 10_000_000).optional(),
  })
  .transform((limit) => ({ ...limit, burst: limit.burst ?? Math.ceil(limit.requestsPerSecond) }));

export const servicePolicySchema = z.strictObject({
  kind: z.literal(POLICY_KIND, { error: `expected "${POLICY_KIND}"` }).default(POLICY_KIND),
  service: z.string({ error: 'expected a service name' }).regex(SERVICE_NAME, 'expected a DNS label: lowercase letters, digits and "-", 1-63 characters'),
  loadBalancer: loadBalancerSchema.prefault({}),
  timeout: timeoutSchema.prefault({}),
  retry: retrySchema.prefault({}),
  circuitBreaker: circuitBreakerSchema.prefault({}),
  outlierDetection: outlierDetectionSchema.optional(),
  healthCheck: healthCheckSchema.optional(),
  /** Tried in order; the first whose match fits the request wins. No route (or none matching): every instance, balanced. */
  routes: z.array(routeSchema, { error: 'expected a list of routes' }).max(64, 'expected at most 64 routes').default([]),
  /** Enforced by the service's own sidecars on the way in; absent: no limit (and the stored form stays as before). */
  rateLimits: z.array(rateLimitSchema, { error: 'expected a list of rate limits' }).max(64, 'expected at most 64 rate limits').optional(),
  /**
   * How this service is reached: its sidecars' inbound mode, and whether callers dial it with TLS (strict and
   * permissive do). Absent: the mesh's default (GET /mesh), so the stored form of older policies stays as it was.
   */
  mtls: z.enum(MTLS_MODES, { error: `expected one of: ${MTLS_MODES.join(', ')}` }).optional(),
});

/** What a user writes: everything but `service` may be left out. */
export type ServicePolicyInput = z.input<typeof servicePolicySchema>;
/** A validated policy with every default filled in, as stored, streamed and held in snapshots. */
export type ServicePolicy = z.output<typeof servicePolicySchema>;
export type LoadBalancerPolicy = ServicePolicy['loadBalancer'];
export type HashOn = NonNullable<LoadBalancerPolicy['hashOn']>;
export type TimeoutPolicy = ServicePolicy['timeout'];
export type RetryPolicy = ServicePolicy['retry'];
export type CircuitBreakerPolicy = ServicePolicy['circuitBreaker'];
export type OutlierDetectionPolicy = NonNullable<ServicePolicy['outlierDetection']>;
export type HealthCheckPolicy = NonNullable<ServicePolicy['healthCheck']>;
export type RoutePolicy = ServicePolicy['routes'][number];
export type RouteBackend = RoutePolicy['backends'][number];
export type FaultPolicy = NonNullable<RoutePolicy['fault']>;
export type RateLimitPolicy = NonNullable<ServicePolicy['rateLimits']>[number];

/** Validates and defaults a policy; a ValidationError names the first offending field path. */
export function parsePolicy(input: unknown): ServicePolicy {
  return parseOrThrow(servicePolicySchema, input);
}

/** The policy a service without one behaves by. */
export function defaultPolicy(service: string): ServicePolicy {
  return parsePolicy({ service });
}

/** Whether two validated policies say the same thing, whatever the order of keys in their maps. */
export function samePolicy<P extends { readonly service: string }>(a: P, b: P): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
