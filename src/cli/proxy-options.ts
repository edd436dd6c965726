// CLI: the sidecar flags shared by `weft proxy` and `weft run`, and their merge with the config file.
import { InvalidArgumentError, type Command } from 'commander';
import type { ListenAddress } from '../config/listen-address.js';
import type { ProxyConfig, ProxyFile } from '../config/proxy-config.js';
import { parseOtlpUrl } from '../config/urls.js';
import type { Runtime } from '../core/index.js';
import { BALANCER_KIND_NAMES, type BalancerKind } from '../model/balancer-kind-names.js';
import { SERVICE_NAME } from '../model/service-name.js';
import { PROTOCOLS, isProtocol, type Protocol } from '../model/protocol-names.js';
import type { Sidecar, SidecarOptions } from '../proxy/index.js';
import { CONTROL_FLAG_HELP } from './control-url.js';
import { addListenerLimitOptions, limitsFromOptions, type ListenerLimitOptions } from './listener-options.js';
import { addressFlag, controlUrlsFlag, hostFlag, integerFlag, lbFlag, metaFlag, portFlag, serviceFlag, upstreamFlag } from './flag-parsers.js';

export interface ProxyCommandOptions extends ListenerLimitOptions {
  service?: string;
  appPort?: number;
  protocol?: Protocol;
  inbound?: ListenAddress;
  outbound?: ListenAddress;
  admin?: ListenAddress;
  advertise?: string;
  control?: readonly string[];
  config?: string;
  lb?: Record<string, BalancerKind>;
  upstream?: Record<string, number>;
  id?: string;
  weight?: number;
  ttl?: number;
  meta?: Record<string, string>;
  healthPath?: string;
  /** `--health-grpc` alone is true: the whole server. */
  healthGrpc?: string | true;
  healthInterval?: number;
  drainTimeout?: number;
  logLevel?: string;
  accessLog?: string;
  accessLogSample?: number;
  fluent?: ListenAddress;
  traceOtlp?: string;
  traceSample?: number;
  istioMetrics?: boolean;
  istioNamespace?: string;
  token?: string;
}

/** `--access-log-sample 0.25`: the share of requests logged. */
function ratioFlag(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`expected a ratio from 0 to 1, got "${value}"`);
  return n;
}

/** `--istio-namespace prod`: a Kubernetes-style namespace name, the same shape as a service name. */
function namespaceFlag(value: string): string {
  if (!SERVICE_NAME.test(value)) throw new InvalidArgumentError(`expected a namespace name (lowercase letters, digits and "-"), got "${value}"`);
  return value;
}

/** `--protocol grpc`: what the app's port speaks. */
function protocolFlag(value: string): Protocol {
  if (!isProtocol(value)) throw new InvalidArgumentError(`expected one of ${PROTOCOLS.join(', ')}, got "${value}"`);
  return value;
}

/** `--fluent 127.0.0.1:24224`: a Fluentd or Fluent Bit forward input. */
function fluentFlag(value: string): ListenAddress {
  const target = addressFlag(value);
  if (target.port === 0) throw new InvalidArgumentError(`expected HOST:PORT with a port from 1 to 65535, got "${value}"`);
  return target;
}

/** `--trace-otlp http://127.0.0.1:4318/v1/traces`: where spans go. */
function otlpFlag(value: string): string {
  const parsed = parseOtlpUrl(value);
  if (typeof parsed !== 'string') throw new InvalidArgumentError(parsed.error);
  return parsed;
}

export function addProxyOptions(command: Command): Command {
  return addListenerLimitOptions(command, 'inbound and outbound listeners')
    .option('--service <name>', 'name of the service this sidecar serves', serviceFlag)
    .option('--app-port <port>', 'port of the local app; without it the sidecar is outbound-only', portFlag)
    .option('--protocol <protocol>', `what the app's port speaks: ${PROTOCOLS.join(', ')} (default http1); registered so callers' sidecars dial it so`, protocolFlag)
    .option('--inbound <host:port>', 'inbound listener, registered as the instance address (default 127.0.0.1:0)', addressFlag)
    .option('--outbound <host:port>', 'outbound listener the app sends requests to (default 127.0.0.1:15001)', addressFlag)
    .option('--admin <host:port>', 'admin listener: /metrics, /ready, /snapshot (default 127.0.0.1:15000)', addressFlag)
    .option('--advertise <host>', 'host registered for this instance (default: the inbound host)', hostFlag)
    .option('--control <urls>', CONTROL_FLAG_HELP, controlUrlsFlag)
    .option('--token <token>', 'join token for this service (weft token create --service NAME), or an admin token; default $WEFT_TOKEN; not needed with weft control --dev')
    .option('--config <file>', 'YAML config file; flags override it')
    .option('--lb <service=algorithm>', `load balancer for an upstream: ${BALANCER_KIND_NAMES.join(', ')} (repeatable)`, lbFlag)
    .option('--upstream <name:localport>', 'open 127.0.0.1:LOCALPORT carrying raw TCP to the tcp service NAME (repeatable)', upstreamFlag)
    .option('--id <id>', 'instance id (default: SERVICE-HOST-PORT)')
    .option('--weight <n>', 'instance weight', integerFlag(1, 10_000))
    .option('--ttl <ms>', 'registration TTL; heartbeats every third of it', integerFlag(1000, 3_600_000, ' ms'))
    .option('--meta <key=value>', 'instance metadata (repeatable)', metaFlag)
    .option('--health-path <path>', 'check the app with HTTP GET of this path instead of a TCP connect')
    .option('--health-grpc [service]', "check the app with its gRPC health service (grpc.health.v1.Health/Check) for SERVICE, or the whole server without one")
    .option('--health-interval <ms>', 'app health-check interval', integerFlag(100, 600_000, ' ms'))
    .option('--drain-timeout <ms>', 'how long in-flight requests may finish on shutdown', integerFlag(0, 600_000, ' ms'))
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .option('--access-log <file>', 'one JSON line per request to this file ("-" for stdout); off by default')
    .option('--access-log-sample <ratio>', 'share of requests written to the access log, 0 to 1 (default 1)', ratioFlag)
    .option('--fluent <host:port>', 'ship access logs and component logs to Fluentd/Fluent Bit over the forward protocol', fluentFlag)
    .option('--trace-otlp <url>', 'export one span per request over OTLP/HTTP to this traces URL (e.g. http://127.0.0.1:4318/v1/traces); off by default', otlpFlag)
    .option('--trace-sample <ratio>', 'share of new traces sampled, 0 to 1 (default 1); a caller\'s sampling decision is kept', ratioFlag)
    .option('--istio-metrics', "also emit Istio's standard metrics (istio_requests_total, ...) for Istio's Grafana and Kiali dashboards")
    .option('--istio-namespace <name>', 'namespace in the Istio metrics\' labels and service names (default "default")', namespaceFlag);
}

/**
 * The sidecar's config from its flags and config file. Given the command, an upstream port that clashes with another
 * or with the sidecar's own ports is a usage error (exit 2), as a bad flag is.
 */
export async function proxyConfigFromOptions(options: ProxyCommandOptions, command?: Command): Promise<ProxyConfig> {
  // Loaded here, not with the CLI: the config file's schema is zod, which `--help` never needs.
  const [{ loadProxyFile, resolveProxyConfig }, { UpstreamPortConflictError }] = await Promise.all([import('../config/proxy-config.js'), import('../config/tcp-upstreams.js')]);
  const file: ProxyFile = options.config ? await loadProxyFile(options.config) : {};
  try {
    return resolveProxyConfig(
      file,
      {
        service: options.service,
        control: options.control,
        appPort: options.appPort,
        protocol: options.protocol,
        inbound: options.inbound,
        outbound: options.outbound,
        admin: options.admin,
        advertise: options.advertise,
        id: options.id,
        weight: options.weight,
        ttlMs: options.ttl,
        meta: options.meta,
        healthPath: options.healthPath,
        healthGrpc: options.healthGrpc === true ? '' : options.healthGrpc,
        healthIntervalMs: options.healthInterval,
        lb: options.lb,
        upstreams: options.upstream,
        drainMs: options.drainTimeout,
        logLevel: options.logLevel,
        accessLog: options.accessLog,
        accessLogSample: options.accessLogSample,
        fluent: options.fluent,
        traceOtlp: options.traceOtlp,
        traceSample: options.traceSample,
        istioMetrics: options.istioMetrics,
        istioNamespace: options.istioNamespace,
        token: options.token,
        limits: limitsFromOptions(options),
      },
      process.env,
      options.config,
    );
  } catch (error) {
    if (command !== undefined && error instanceof UpstreamPortConflictError) command.error(`error: ${error.message}`, { exitCode: 2 });
    throw error;
  }
}

/** Starts the sidecar; an app port that is one of the sidecar's own is a usage error (exit 2), as a bad flag is. */
export async function startSidecarFor(command: Command, config: ProxyConfig, runtime: Runtime, options: SidecarOptions = {}): Promise<Sidecar> {
  // Loaded here, not with the CLI: `weft --help` and the API commands never pay for the sidecar's code.
  const [{ startSidecar }, { AppPortConflictError }] = await Promise.all([import('../proxy/sidecar.js'), import('../proxy/app-port.js')]);
  try {
    return await startSidecar(config, runtime, options);
  } catch (error) {
    if (error instanceof AppPortConflictError) command.error(`error: ${error.message}`, { exitCode: 2 });
    throw error;
  }
}
