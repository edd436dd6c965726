// Consul API: a Consul service registration body (PascalCase) turned into a weft registration plus the checks the agent runs.
import { z } from 'zod';
import { ValidationError } from '../../core/index.js';
import { headerNameSchema, headerValueSchema, hostSchema, INSTANCE_ID, parseHostPort, parseOrThrow, printable, SERVICE_NAME, type InstanceRegistrationInput } from '../../model/index.js';
import { parseDuration } from './duration.js';

export type ConsulStatus = 'passing' | 'warning' | 'critical';
export type CheckKind = 'ttl' | 'http' | 'tcp';

export interface CheckDefinition {
  readonly id: string;
  readonly name: string;
  readonly kind: CheckKind;
  /** TTL checks: how long a pass/warn/fail holds. */
  readonly ttlMs?: number;
  /** HTTP checks: the URL; TCP checks: host:port. */
  readonly target?: string;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, readonly string[]>>;
  readonly tlsSkipVerify?: boolean;
  readonly initial: ConsulStatus;
  readonly deregisterAfterMs?: number;
}

export interface ServiceDefinition {
  readonly registration: InstanceRegistrationInput & { id: string };
  readonly checks: readonly CheckDefinition[];
  /** The body field each check came from ("Check", "Checks[1]"), for errors found later. */
  readonly checkFields: readonly string[];
}

/** Consul clamps check intervals to at least one second; so does weft. */
export const MIN_CHECK_INTERVAL_MS = 1_000;
export const DEFAULT_CHECK_TIMEOUT_MS = 10_000;
/** Registry lease of a service the control plane renews itself (no check, or HTTP/TCP checks only lose it when the control plane is gone). */
export const MAX_TTL_MS = 3_600_000;
const MIN_TTL_MS = 1_000;
export const HTTP_METHOD = /^[A-Z]{1,16}$/;
/** Meta keys starting with this are Consul's (reserved there, too); weft keeps its check records under it. */
export const RESERVED_META_PREFIX = 'consul-';

const SERVICE_FIELDS = ['ID', 'Name', 'Tags', 'Meta', 'Address', 'Port', 'Weights', 'Check', 'Checks', 'Kind', 'EnableTagOverride', 'TaggedAddresses'];
const CHECK_FIELDS = ['CheckID', 'ID', 'Name', 'Notes', 'HTTP', 'TCP', 'TTL', 'Interval', 'Timeout', 'Method', 'Header', 'TLSSkipVerify', 'Status', 'DeregisterCriticalServiceAfter'];
const UNSUPPORTED_CHECKS = ['GRPC', 'Args', 'Script', 'H2PING', 'H2Ping', 'UDP', 'AliasService', 'AliasNode', 'DockerContainerID', 'OSService'];

const duration = z.union([z.string(), z.number()]);
const checkSchema = z.looseObject({
  CheckID: z.string().min(1, 'expected a non-empty check id').max(256).optional(),
  ID: z.string().min(1, 'expected a non-empty check id').max(256).optional(),
  Name: z.string().max(256).optional(),
  Notes: z.string().optional(),
  HTTP: z.string().optional(),
  TCP: z.string().optional(),
  TTL: duration.optional(),
  Interval: duration.optional(),
  Timeout: duration.optional(),
  Method: z.string().regex(HTTP_METHOD, 'expected an HTTP method such as GET').optional(),
  // Consul takes a list per header; single strings (as some clients send) are read as a list of one.
  Header: z.record(z.string(), z.union([headerValueSchema, z.array(headerValueSchema)])).optional(),
  TLSSkipVerify: z.boolean().optional(),
  Status: z.enum(['passing', 'warning', 'critical'], 'expected "passing", "warning" or "critical"').optional(),
  DeregisterCriticalServiceAfter: duration.optional(),
});
type CheckBody = z.output<typeof checkSchema>;

const serviceSchema = z.looseObject({
  ID: z.string().regex(INSTANCE_ID, 'expected 1-128 characters of [A-Za-z0-9._:@-], starting alphanumeric').optional(),
  Name: z.string({ error: 'required: the service name' }).regex(SERVICE_NAME, 'expected a DNS label: lowercase letters, digits and "-", 1-63 characters'),
  Tags: z.array(z.string().min(1, 'expected a non-empty tag').max(128, 'expected at most 128 characters')).max(64, 'expected at most 64 tags').nullish(),
  Meta: z.record(z.string().max(128, 'expected keys of at most 128 characters'), z.string().max(512, 'expected at most 512 characters')).nullish(),
  // Consul reads an empty Address as none given.
  Address: z.preprocess((value) => (value === '' ? undefined : value), hostSchema.optional()).nullish(),
  Port: z.number({ error: 'required: weft routes to host:port, so a port 1-65535 is needed' }).int('expected an integer').min(1, 'expected 1-65535').max(65535, 'expected 1-65535'),
  Weights: z.looseObject({ Passing: z.number().int('expected an integer').min(1, 'expected 1-10000').max(10_000, 'expected 1-10000').optional() }).nullish(),
  Check: z.unknown().optional(),
  Checks: z.array(z.unknown()).max(16, 'expected at most 16 checks').nullish(),
});

export function parseServiceDefinition(body: unknown): ServiceDefinition {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('', 'expected a JSON object with the service definition (Name, Port, ...)');
  }
  const service = parseOrThrow(serviceSchema, canonicalKeys(body as Record<string, unknown>, SERVICE_FIELDS));
  const id = service.ID ?? service.Name;
  const meta = service.Meta ?? {};
  for (const key of Object.keys(meta)) {
    if (key.startsWith(RESERVED_META_PREFIX)) throw new ValidationError(`Meta.${key}`, `the key prefix "${RESERVED_META_PREFIX}" is reserved`);
  }

  const bodies: Array<{ value: unknown; field: string }> = [];
  if (service.Check !== undefined && service.Check !== null) bodies.push({ value: service.Check, field: 'Check' });
  (service.Checks ?? []).forEach((value, i) => bodies.push({ value, field: `Checks[${i}]` }));
  const numbered = bodies.length > 1;
  const checks = bodies.map(({ value, field }, i) => parseCheck(value, field, service.Name, numbered ? `service:${id}:${i + 1}` : `service:${id}`));
  const ids = new Set<string>();
  for (const [i, check] of checks.entries()) {
    if (ids.has(check.id)) throw new ValidationError(bodies[i]?.field ?? 'Checks', `duplicate CheckID "${check.id}"`);
    ids.add(check.id);
  }

  return {
    registration: {
      id,
      service: service.Name,
      host: service.Address ?? '127.0.0.1',
      port: service.Port,
      weight: service.Weights?.Passing ?? 1,
      meta,
      tags: service.Tags ?? [],
      ttlMs: leaseFor(checks),
    },
    checks,
    checkFields: bodies.map((b) => b.field),
  };
}

function parseCheck(value: unknown, field: string, serviceName: string, defaultId: string): CheckDefinition {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError(field, 'expected a check object');
  const canonical = canonicalKeys(value as Record<string, unknown>, CHECK_FIELDS);
  for (const key of UNSUPPORTED_CHECKS) {
    if (canonical[key] !== undefined && canonical[key] !== '' && canonical[key] !== null) {
      throw new ValidationError(`${field}.${key}`, 'unsupported check type: weft runs HTTP, TCP and TTL checks');
    }
  }
  let check: CheckBody;
  try {
    check = parseOrThrow(checkSchema, canonical);
  } catch (error) {
    if (error instanceof ValidationError) throw new ValidationError(`${field}.${error.field}`, error.message.slice(error.field.length + 2));
    throw error;
  }
  const kinds = (['HTTP', 'TCP', 'TTL'] as const).filter((k) => check[k] !== undefined && check[k] !== '');
  if (kinds.length !== 1) throw new ValidationError(field, kinds.length === 0 ? 'expected one of HTTP, TCP or TTL' : `expected only one of ${kinds.join(', ')}`);
  const base = {
    id: check.CheckID ?? check.ID ?? defaultId,
    name: check.Name ? check.Name : `Service '${serviceName}' check`,
    initial: check.Status ?? 'critical',
    ...(check.DeregisterCriticalServiceAfter === undefined
      ? {}
      : { deregisterAfterMs: parseDuration(check.DeregisterCriticalServiceAfter, `${field}.DeregisterCriticalServiceAfter`) }),
  };
  if (check.TTL !== undefined) {
    const ttlMs = parseDuration(check.TTL, `${field}.TTL`);
    if (ttlMs < MIN_TTL_MS) throw new ValidationError(`${field}.TTL`, 'expected at least 1s');
    if (ttlMs > MAX_TTL_MS) throw new ValidationError(`${field}.TTL`, 'expected at most 1h');
    return { ...base, kind: 'ttl', ttlMs };
  }
  if (check.Interval === undefined) throw new ValidationError(`${field}.Interval`, 'required for HTTP and TCP checks');
  const intervalMs = Math.max(MIN_CHECK_INTERVAL_MS, parseDuration(check.Interval, `${field}.Interval`));
  if (intervalMs > MAX_TTL_MS / 3) throw new ValidationError(`${field}.Interval`, 'expected at most 20m');
  const timeoutMs = check.Timeout === undefined ? DEFAULT_CHECK_TIMEOUT_MS : parseDuration(check.Timeout, `${field}.Timeout`);
  if (timeoutMs <= 0 || timeoutMs > MAX_TTL_MS / 3) throw new ValidationError(`${field}.Timeout`, 'expected more than 0 and at most 20m');
  if (check.HTTP !== undefined) {
    for (const name of Object.keys(check.Header ?? {})) {
      const named = headerNameSchema.safeParse(name);
      if (!named.success) throw new ValidationError(`${field}.Header`, `"${printable(name)}": ${named.error.issues[0]?.message ?? 'not a header name'}`);
    }
    let url: URL;
    try {
      url = new URL(check.HTTP);
    } catch {
      throw new ValidationError(`${field}.HTTP`, `"${printable(check.HTTP)}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValidationError(`${field}.HTTP`, 'expected an http:// or https:// URL');
    return {
      ...base,
      kind: 'http',
      target: url.href,
      intervalMs,
      timeoutMs,
      ...(check.Method === undefined ? {} : { method: check.Method }),
      ...(check.Header === undefined ? {} : { headers: Object.fromEntries(Object.entries(check.Header).map(([k, v]) => [k, typeof v === 'string' ? [v] : v])) }),
      ...(check.TLSSkipVerify === undefined ? {} : { tlsSkipVerify: check.TLSSkipVerify }),
    };
  }
  const target = parseHostPort(check.TCP ?? '');
  if (!target.ok) throw new ValidationError(`${field}.TCP`, target.reason);
  return { ...base, kind: 'tcp', target: check.TCP ?? '', intervalMs, timeoutMs };
}

/**
 * The interval and timeout a stored HTTP/TCP check runs with, held to the bounds a registration is held to: a record
 * written by an older version or by hand may carry anything, and a timer of 0 ms (or past 2^31 ms, which Node
 * fires at once) would spin.
 */
export function checkTiming(check: CheckDefinition): { readonly intervalMs: number; readonly timeoutMs: number } {
  const bound = (value: number | undefined, fallback: number, min: number): number =>
    typeof value === 'number' && Number.isFinite(value) ? Math.min(MAX_TTL_MS / 3, Math.max(min, value)) : fallback;
  return { intervalMs: bound(check.intervalMs, MIN_CHECK_INTERVAL_MS, MIN_CHECK_INTERVAL_MS), timeoutMs: bound(check.timeoutMs, DEFAULT_CHECK_TIMEOUT_MS, 1) };
}

/**
 * The instance's registry lease: TTL checks hold it for their TTL; a control plane running HTTP/TCP checks
 * renews it every interval, so a few intervals are enough for a dead control plane's instances to lapse;
 * without checks it renews the longest lease itself.
 */
function leaseFor(checks: readonly CheckDefinition[]): number {
  const probes = checks.filter((c) => c.kind !== 'ttl');
  const ttls = checks.filter((c) => c.kind === 'ttl').map((c) => c.ttlMs ?? MAX_TTL_MS);
  if (checks.length === 0) return MAX_TTL_MS;
  if (probes.length === 0) return Math.min(...ttls);
  const probeLease = Math.max(...probes.map((c) => 3 * (c.intervalMs ?? 0) + Math.min(c.timeoutMs ?? 0, c.intervalMs ?? 0)));
  return Math.min(MAX_TTL_MS, Math.max(MIN_TTL_MS, probeLease, ...ttls));
}

/** Consul decodes JSON field names case-insensitively (Go's encoding/json); so does weft, for the fields it knows. */
function canonicalKeys(value: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    const name = names.find((n) => n.toLowerCase() === key.toLowerCase()) ?? UNSUPPORTED_CHECKS.find((n) => n.toLowerCase() === key.toLowerCase()) ?? key;
    out[name] = field;
  }
  return out;
}
