// Config: the sidecar's settings from its YAML file, flags and environment, validated in one place.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError } from '../core/index.js';
import { balancerKindSchema, DEFAULT_PROTOCOL, INSTANCE_ID, SERVICE_NAME, fieldPath, hostSchema, portSchema, protocolSchema, type BalancerKind, type Protocol } from '../model/index.js';
import { ADMIN_LISTENER_LIMIT_DEFAULTS, LISTENER_LIMIT_BOUNDS, LISTENER_LIMIT_DEFAULTS, withLimits, type ListenerLimits } from '../listener/index.js';
import { parseListenAddress, type ListenAddress } from './listen-address.js';
import { resolveTcpUpstreams, type OccupiedPort } from './tcp-upstreams.js';
import { DEFAULT_CONTROL_URL, parseControlUrlList, parseOtlpUrl } from './urls.js';

// These live in a module without zod (for the CLI's flags and help); their importers keep finding them here.
export { parseControlUrlList, parseOtlpUrl } from './urls.js';

const address = z.string().transform((text, ctx) => {
  const parsed = parseListenAddress(text);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});
const port = portSchema;
const millis = (min: number, max: number) =>
  z.number().int('expected an integer number of milliseconds').min(min, `expected at least ${min} ms`).max(max, `expected at most ${max} ms`);
const limitsFields = {
  headersTimeoutMs: millis(LISTENER_LIMIT_BOUNDS.headersTimeoutMs.min, LISTENER_LIMIT_BOUNDS.headersTimeoutMs.max).optional(),
  requestTimeoutMs: millis(LISTENER_LIMIT_BOUNDS.requestTimeoutMs.min, LISTENER_LIMIT_BOUNDS.requestTimeoutMs.max).optional(),
  idleTimeoutMs: millis(LISTENER_LIMIT_BOUNDS.idleTimeoutMs.min, LISTENER_LIMIT_BOUNDS.idleTimeoutMs.max).optional(),
  maxConnections: z
    .number()
    .int('expected an integer')
    .min(LISTENER_LIMIT_BOUNDS.maxConnections.min, `expected at least ${LISTENER_LIMIT_BOUNDS.maxConnections.min}`)
    .max(LISTENER_LIMIT_BOUNDS.maxConnections.max, `expected at most ${LISTENER_LIMIT_BOUNDS.maxConnections.max}`)
    .optional(),
};
const limitsSchema = z.strictObject(limitsFields);
/** `listeners:` — limits for the inbound and outbound listeners, each overridable per listener (admin only per listener). */
const listenersSchema = z.strictObject({ ...limitsFields, inbound: limitsSchema.optional(), outbound: limitsSchema.optional(), admin: limitsSchema.optional() });
const sampleRatio = z.number().min(0, 'expected a ratio from 0 to 1').max(1, 'expected a ratio from 0 to 1');
const fluentTag = z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'expected a dot-separated tag prefix such as "weft"');
const otlpUrl = z.string({ error: 'expected a full OTLP/HTTP traces URL such as http://127.0.0.1:4318/v1/traces' }).transform((text, ctx) => {
  const parsed = parseOtlpUrl(text);
  if (typeof parsed !== 'string') {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return parsed;
});
const serviceName = z.string().regex(SERVICE_NAME, 'expected a service name: lowercase letters, digits and "-", 1-63 characters');

/** `upstreams.NAME`: how calls to NAME are balanced, and for a tcp service the local port that carries raw TCP to it. */
const upstreamSchema = z.strictObject({ lb: balancerKindSchema.optional(), port: port.optional() });

const controlUrls = z.union([z.string(), z.array(z.string())], { error: 'expected a URL, comma-separated URLs or a list of URLs' }).transform((value, ctx) => {
  const parsed = parseControlUrlList(value);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

/** The YAML file's shape; every key optional, flags fill in or override. */
export const proxyFileSchema = z.strictObject({
  service: serviceName.optional(),
  control: controlUrls.optional(),
  appPort: port.optional(),
  appHost: hostSchema.optional(),
  protocol: protocolSchema.optional(),
  inbound: address.optional(),
  outbound: address.optional(),
  admin: address.optional(),
  advertise: hostSchema.optional(),
  instance: z
    .strictObject({
      id: z.string().regex(INSTANCE_ID, 'expected 1-128 characters of [A-Za-z0-9._:@-]').optional(),
      weight: z.number().int().min(1).max(10_000).optional(),
      ttlMs: millis(1000, 3_600_000).optional(),
      meta: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  healthCheck: z
    .strictObject({
      path: z.string().startsWith('/', 'expected an HTTP path starting with "/"').optional(),
      /** The app's gRPC health service; `service` '' (or left out) asks about the whole server. */
      grpc: z.strictObject({ service: z.string({ error: 'expected a gRPC service name' }).max(256, 'expected at most 256 characters').default('') }).optional(),
      intervalMs: millis(100, 600_000).optional(),
      timeoutMs: millis(50, 60_000).optional(),
    })
    .optional(),
  defaults: z
    .strictObject({
      lb: balancerKindSchema.optional(),
      connectTimeoutMs: millis(10, 60_000).optional(),
      responseTimeoutMs: millis(10, 3_600_000).optional(),
      maxAttempts: z.number().int().min(1, 'expected 1-10').max(10, 'expected 1-10').optional(),
    })
    .optional(),
  upstreams: z.record(serviceName, upstreamSchema).optional(),
  drainMs: millis(0, 600_000).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  accessLog: z
    .strictObject({
      path: z.string().min(1, 'expected a file path, or "-" for stdout').optional(),
      sample: sampleRatio.optional(),
    })
    .optional(),
  fluent: z
    .strictObject({
      host: hostSchema,
      port,
      tag: fluentTag.optional(),
    })
    .optional(),
  tracing: z
    .strictObject({
      otlp: otlpUrl,
      sample: sampleRatio.optional(),
    })
    .optional(),
  metrics: z
    .strictObject({
      istio: z.boolean({ error: 'expected true or false' }).optional(),
      namespace: z.string().regex(SERVICE_NAME, 'expected a namespace name: lowercase letters, digits and "-", 1-63 characters').optional(),
    })
    .optional(),
  security: z
    .strictObject({
      trustBundleRefreshMs: millis(100, 3_600_000).optional(),
    })
    .optional(),
  listeners: listenersSchema.optional(),
});
export type ProxyFile = z.output<typeof proxyFileSchema>;

export interface ProxyConfig {
  readonly service: string;
  /** Control-plane replicas, tried in this order; at least one. */
  readonly control: readonly string[];
  /**
   * The token the sidecar shows the control plane until it holds a certificate (a join token for its
   * service, or an admin token); from --token or WEFT_TOKEN, never from the config file. Not needed under --dev.
   */
  readonly token?: string;
  readonly appPort?: number;
  readonly appHost: string;
  /** What the app's port speaks, registered on the instance so callers' sidecars know how to dial it. */
  readonly protocol: Protocol;
  readonly inbound: ListenAddress;
  readonly outbound: ListenAddress;
  readonly admin: ListenAddress;
  /** Host registered for this instance; defaults to the inbound listener's host. */
  readonly advertise?: string;
  readonly instance: { readonly id?: string; readonly weight: number; readonly ttlMs: number; readonly meta: Readonly<Record<string, string>> };
  /** `grpcService`: check the app's gRPC health service for this name ('' the whole server) rather than a path or a TCP connect. */
  readonly healthCheck: { readonly path?: string; readonly grpcService?: string; readonly intervalMs: number; readonly timeoutMs: number };
  readonly defaultBalancer: BalancerKind;
  readonly balancers: Readonly<Record<string, BalancerKind>>;
  /** Service name → local port on 127.0.0.1 carrying raw TCP to that service's tcp instances (`--upstream NAME:PORT`). */
  readonly tcpUpstreams: Readonly<Record<string, number>>;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly maxAttempts: number;
  readonly drainMs: number;
  readonly logLevel: string;
  /** One JSON line per sampled request; `path` '-' is stdout, absent writes no file. */
  readonly accessLog: { readonly path?: string; readonly sample: number };
  /** Where access logs (`TAG.access`) and component logs (`TAG.log`) are shipped over the Fluent forward protocol. */
  readonly fluent?: { readonly host: string; readonly port: number; readonly tag: string };
  /** One span per hop exported over OTLP/HTTP to `otlp`; new traces sampled at `sample`. Absent: tracing is off. */
  readonly tracing?: { readonly otlp: string; readonly sample: number };
  /** `istio`: also emit Istio's standard metrics, labelled with `namespace`. */
  readonly metrics: { readonly istio: boolean; readonly namespace: string };
  /** `trustBundleRefreshMs`: how often the trust bundle is fetched again (a CA rotation adds and later drops a root). */
  readonly security: { readonly trustBundleRefreshMs: number };
  /** Head, request and idle timeouts and the connection cap of each listener. */
  readonly listeners: { readonly inbound: ListenerLimits; readonly outbound: ListenerLimits; readonly admin: ListenerLimits };
}

export const PROXY_DEFAULTS = {
  control: DEFAULT_CONTROL_URL,
  appHost: '127.0.0.1',
  inbound: '127.0.0.1:0',
  outbound: '127.0.0.1:15001',
  admin: '127.0.0.1:15000',
  ttlMs: 10_000,
  healthIntervalMs: 2_000,
  healthTimeoutMs: 1_000,
  connectTimeoutMs: 1_000,
  responseTimeoutMs: 15_000,
  maxAttempts: 3,
  drainMs: 10_000,
  accessLogSample: 1,
  fluentTag: 'weft',
  /** Tracing is opted into by naming a collector; then every new trace is kept unless told otherwise. */
  traceSample: 1,
  istioNamespace: 'default',
  trustBundleRefreshMs: 30_000,
} as const;

/** Reads and validates a YAML config file; errors name the file, the path inside it and what was expected. */
export async function loadProxyFile(file: string): Promise<ProxyFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, '', `cannot read file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  // The YAML parser is loaded only by a sidecar that reads a config file.
  const { parseDocument } = await import('yaml');
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0];
    throw new ConfigError(file, line ? `line ${line.line}, column ${line.col}` : '', `expected valid YAML (${yamlError.code})`);
  }
  return validateProxyFile(file, doc.toJS() ?? {});
}

export function validateProxyFile(source: string, value: unknown): ProxyFile {
  const result = proxyFileSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    throw new ConfigError(source, fieldPath([...issue.path, issue.keys[0] ?? '']), `unknown key; expected one of the documented settings`);
  }
  throw new ConfigError(source, fieldPath(issue.path) || '(top level)', issue.message);
}

/** Flags as parsed by the CLI (strings already checked for shape); undefined means "not given". */
export interface ProxyFlags {
  service?: string;
  /** One URL, comma-separated URLs, or a list. */
  control?: string | readonly string[];
  appPort?: number;
  protocol?: Protocol;
  inbound?: ListenAddress;
  outbound?: ListenAddress;
  admin?: ListenAddress;
  advertise?: string;
  id?: string;
  weight?: number;
  ttlMs?: number;
  meta?: Record<string, string>;
  healthPath?: string;
  /** The gRPC health service name to check ('' the whole server). */
  healthGrpc?: string;
  healthIntervalMs?: number;
  lb?: Record<string, BalancerKind>;
  /** `--upstream NAME:LOCALPORT`, repeatable: service name → local port. */
  upstreams?: Record<string, number>;
  drainMs?: number;
  logLevel?: string;
  accessLog?: string;
  accessLogSample?: number;
  fluent?: { host: string; port: number };
  /** Checked with parseOtlpUrl by the CLI. */
  traceOtlp?: string;
  traceSample?: number;
  istioMetrics?: boolean;
  istioNamespace?: string;
  /** Join token (or admin token) for the control plane; else WEFT_TOKEN. */
  token?: string;
  /** --header-timeout, --request-timeout, --idle-timeout, --max-connections: the inbound and outbound listeners' limits. */
  limits?: Partial<ListenerLimits>;
}

/**
 * Merges file, flags and environment: flags win over the file, the file over the environment, the environment over
 * defaults. `fileName` names the file in the errors about what it set.
 */
export function resolveProxyConfig(file: ProxyFile, flags: ProxyFlags, env: NodeJS.ProcessEnv, fileName = 'the config file'): ProxyConfig {
  const service = flags.service ?? file.service;
  if (!service) throw new ConfigError('--service', '', 'expected the name of the service this sidecar serves (flag --service or "service:" in the config file)');
  const fromDefault = (text: string) => parseListenAddress(text) as ListenAddress;
  const lbFromFile = Object.fromEntries(
    Object.entries(file.upstreams ?? {}).flatMap(([name, upstream]) => (upstream.lb ? [[name, upstream.lb]] : [])),
  ) as Record<string, BalancerKind>;
  const appPort = flags.appPort ?? file.appPort;
  const appHost = file.appHost ?? PROXY_DEFAULTS.appHost;
  const inbound = flags.inbound ?? file.inbound ?? fromDefault(PROXY_DEFAULTS.inbound);
  const outbound = flags.outbound ?? file.outbound ?? fromDefault(PROXY_DEFAULTS.outbound);
  const admin = flags.admin ?? file.admin ?? fromDefault(PROXY_DEFAULTS.admin);
  const from = (key: 'inbound' | 'outbound' | 'admin' | 'appPort', flag: string): string =>
    flags[key] !== undefined ? flag : file[key] !== undefined ? `${fileName} at ${key}` : 'the default';
  const occupied: OccupiedPort[] = [
    { what: "the sidecar's inbound listener", setBy: from('inbound', '--inbound'), address: inbound },
    { what: "the sidecar's outbound listener", setBy: from('outbound', '--outbound'), address: outbound },
    { what: "the sidecar's admin listener", setBy: from('admin', '--admin'), address: admin },
    ...(appPort === undefined ? [] : [{ what: "the app's port", setBy: from('appPort', '--app-port'), address: { host: appHost, port: appPort } }]),
  ];
  return {
    service,
    control: resolveControl(flags.control, file.control, env.WEFT_CONTROL),
    ...tokenOf(flags.token, env.WEFT_TOKEN),
    appPort,
    appHost,
    protocol: flags.protocol ?? file.protocol ?? DEFAULT_PROTOCOL,
    inbound,
    outbound,
    admin,
    advertise: flags.advertise ?? file.advertise,
    instance: {
      id: flags.id ?? file.instance?.id,
      weight: flags.weight ?? file.instance?.weight ?? 1,
      ttlMs: flags.ttlMs ?? file.instance?.ttlMs ?? PROXY_DEFAULTS.ttlMs,
      meta: { ...(file.instance?.meta ?? {}), ...(flags.meta ?? {}) },
    },
    healthCheck: {
      path: flags.healthPath ?? file.healthCheck?.path,
      grpcService: flags.healthGrpc ?? file.healthCheck?.grpc?.service,
      intervalMs: flags.healthIntervalMs ?? file.healthCheck?.intervalMs ?? PROXY_DEFAULTS.healthIntervalMs,
      timeoutMs: file.healthCheck?.timeoutMs ?? PROXY_DEFAULTS.healthTimeoutMs,
    },
    defaultBalancer: file.defaults?.lb ?? 'round-robin',
    balancers: { ...lbFromFile, ...(flags.lb ?? {}) },
    tcpUpstreams: resolveTcpUpstreams(file.upstreams, flags.upstreams, occupied, fileName),
    connectTimeoutMs: file.defaults?.connectTimeoutMs ?? PROXY_DEFAULTS.connectTimeoutMs,
    responseTimeoutMs: file.defaults?.responseTimeoutMs ?? PROXY_DEFAULTS.responseTimeoutMs,
    maxAttempts: file.defaults?.maxAttempts ?? PROXY_DEFAULTS.maxAttempts,
    drainMs: flags.drainMs ?? file.drainMs ?? PROXY_DEFAULTS.drainMs,
    logLevel: flags.logLevel ?? file.logLevel ?? env.WEFT_LOG_LEVEL ?? 'info',
    accessLog: {
      path: flags.accessLog ?? file.accessLog?.path,
      sample: flags.accessLogSample ?? file.accessLog?.sample ?? PROXY_DEFAULTS.accessLogSample,
    },
    fluent: resolveFluent(flags.fluent, file.fluent),
    tracing: resolveTracing(flags, file.tracing),
    metrics: {
      istio: flags.istioMetrics ?? file.metrics?.istio ?? false,
      namespace: flags.istioNamespace ?? file.metrics?.namespace ?? PROXY_DEFAULTS.istioNamespace,
    },
    security: { trustBundleRefreshMs: file.security?.trustBundleRefreshMs ?? PROXY_DEFAULTS.trustBundleRefreshMs },
    listeners: resolveListeners(file.listeners, flags.limits),
  };
}

/** Per listener: its own section of the file, over the file's shared settings, over the defaults; flags win over the file for inbound and outbound. */
function resolveListeners(file: ProxyFile['listeners'], flags: Partial<ListenerLimits> | undefined): ProxyConfig['listeners'] {
  const shared = withLimits(LISTENER_LIMIT_DEFAULTS, file);
  return {
    inbound: withLimits(withLimits(shared, file?.inbound), flags),
    outbound: withLimits(withLimits(shared, file?.outbound), flags),
    admin: withLimits(ADMIN_LISTENER_LIMIT_DEFAULTS, file?.admin),
  };
}

function resolveTracing(flags: ProxyFlags, file: ProxyFile['tracing']): ProxyConfig['tracing'] {
  const otlp = flags.traceOtlp ?? file?.otlp;
  if (otlp === undefined) {
    if (flags.traceSample !== undefined) throw new ConfigError('--trace-sample', '', 'expected --trace-otlp URL (or "tracing: { otlp: URL }" in the config file) as well: spans need a receiver');
    return undefined;
  }
  return { otlp, sample: flags.traceSample ?? file?.sample ?? PROXY_DEFAULTS.traceSample };
}

function resolveFluent(flag: ProxyFlags['fluent'], file: ProxyFile['fluent']): ProxyConfig['fluent'] {
  const target = flag ?? file;
  if (target === undefined) return undefined;
  return { host: target.host, port: target.port, tag: file?.tag ?? PROXY_DEFAULTS.fluentTag };
}

function resolveControl(flag: string | readonly string[] | undefined, file: readonly string[] | undefined, env: string | undefined): readonly string[] {
  // The file was validated when loaded; flags and the environment are checked here, naming where the bad URL came from.
  const [source, value] = flag !== undefined ? ['--control', flag] : file !== undefined ? ['', file] : env ? ['WEFT_CONTROL', env] : ['', PROXY_DEFAULTS.control];
  const parsed = parseControlUrlList(value);
  if (typeof parsed === 'string') throw new ConfigError(source || 'control', '', parsed);
  return parsed;
}

/** A token flag or WEFT_TOKEN; surrounding whitespace (a trailing newline from `$(cat file)`) is dropped. */
function tokenOf(flag: string | undefined, env: string | undefined): { token?: string } {
  const token = (flag ?? env ?? '').trim();
  return token === '' ? {} : { token };
}
