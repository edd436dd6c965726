// CLI: `weft control` runs the control plane until a signal stops it.
import { InvalidArgumentError, type Command } from 'commander';
import { formatAddress, type ListenAddress } from '../../config/listen-address.js';
import { isWeftError } from '../../core/index.js';
import { trustDomainProblem } from '../../security/trust-domain.js';
import { addressFlag, cidrListFlag, durationFlag, integerFlag, storeFlag } from '../flag-parsers.js';
import { addListenerLimitOptions, limitsFromOptions, type ListenerLimitOptions } from '../listener-options.js';
import { onShutdownSignal } from '../process-signals.js';

interface ControlOptions extends ListenerLimitOptions {
  listen: ListenAddress;
  dataDir: string;
  dev?: boolean;
  store?: string;
  criticalRemoveAfter?: number;
  logLevel?: string;
  dashboard: boolean;
  openRead?: boolean;
  trustDomain?: string;
  caCert?: string;
  caKey?: string;
  certTtl?: number;
  allowInstanceCidr?: readonly string[];
  denyInstanceCidr?: readonly string[];
}

/** Workload certificates shorter than this would renew more often than sidecars can sensibly ask. */
const MIN_CERT_TTL_MS = 10_000;

function trustDomainFlag(value: string): string {
  const problem = trustDomainProblem(value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}

function certTtlFlag(value: string): number {
  const ms = durationFlag(value);
  if (ms < MIN_CERT_TTL_MS) throw new InvalidArgumentError(`expected a lifetime of at least 10s, got "${value}"`);
  return ms;
}

export function registerControlCommand(program: Command): void {
  const command = program
    .command('control')
    .description('run the control plane: registry, REST and watch API, metrics')
    .option('--listen <host:port>', 'address of the HTTP API', addressFlag, addressFlag('127.0.0.1:8500'))
    .option('--data-dir <dir>', 'directory of the embedded durable store', '.weft/data')
    .option('--dev', 'keep everything in memory (nothing survives a restart)')
    .option('--store <url>', 'keep state in etcd instead: etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (default prefix /weft/); control planes given the same store serve the same registry', storeFlag)
    .option('--critical-remove-after <ms>', 'remove an instance this long after its TTL lapsed (default: its TTL)', integerFlag(0, 86_400_000, ' ms'))
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .option('--no-dashboard', 'do not serve the web dashboard at /')
    .option('--open-read', 'let anyone read the API (services, instances, policies, watch, stats); changes still need a token')
    .option('--trust-domain <domain>', 'SPIFFE trust domain of workload identities (default weft.local)', trustDomainFlag)
    .option('--ca-cert <file>', 'PEM intermediate CA certificate, followed by its chain up to the root, to sign workload certificates with (needs --ca-key)')
    .option('--ca-key <file>', 'PEM private key of --ca-cert')
    .option('--cert-ttl <duration>', 'lifetime of workload certificates, e.g. 24h (default), 1h, 90s; sidecars renew at 2/3 of it', certTtlFlag)
    .option('--allow-instance-cidr <cidrs>', 'accept only instances whose address is an IP in these ranges (comma-separated, repeatable; host names are then refused)', cidrListFlag)
    .option('--deny-instance-cidr <cidrs>', 'refuse instances whose address is in these ranges (comma-separated, repeatable), besides link-local, unspecified and broadcast addresses', cidrListFlag);
  addListenerLimitOptions(command, 'the API listener')
    .action(async (options: ControlOptions, command: Command) => {
      if ((options.caCert === undefined) !== (options.caKey === undefined)) {
        command.error(`error: ${options.caCert === undefined ? '--ca-key needs --ca-cert' : '--ca-cert needs --ca-key'}`, { exitCode: 2 });
      }
      const { createRuntime } = await import('../../telemetry/runtime.js');
      const runtime = createRuntime({ name: 'control', logLevel: options.logLevel });
      // Loaded here, not with the CLI: other commands never pay for the control plane's code.
      const { startControlPlane } = await import('../../control/index.js');
      const control = await startControlPlane({
        listen: options.listen,
        dataDir: options.dataDir,
        dev: options.dev ?? false,
        ...(options.store === undefined ? {} : { store: options.store }),
        runtime,
        criticalRemoveAfterMs: options.criticalRemoveAfter,
        dashboard: options.dashboard,
        openRead: options.openRead ?? false,
        ...(options.trustDomain === undefined ? {} : { trustDomain: options.trustDomain }),
        ...(options.caCert !== undefined && options.caKey !== undefined ? { ca: { certPath: options.caCert, keyPath: options.caKey } } : {}),
        ...(options.certTtl === undefined ? {} : { certLifetimeMs: options.certTtl }),
        ...(options.allowInstanceCidr === undefined ? {} : { allowInstanceCidrs: options.allowInstanceCidr }),
        ...(options.denyInstanceCidr === undefined ? {} : { denyInstanceCidrs: options.denyInstanceCidr }),
        limits: limitsFromOptions(options),
      }).catch((error: unknown) => {
        // A --ca-cert/--ca-key file that cannot serve is a usage error like a malformed flag: exit 2, naming the flag and file.
        const source = isWeftError(error) && error.code === 'CONFIG_INVALID' ? error.details.source : undefined;
        const flag = source === '--ca-key' || (source !== undefined && source === options.caKey) ? '--ca-key' : source === '--ca-cert' || (source !== undefined && source === options.caCert) ? '--ca-cert' : undefined;
        if (flag !== undefined) {
          const message = (error as Error).message;
          command.error(`error: ${message.startsWith(flag) ? message : `${flag} ${message}`}`, { exitCode: 2 });
        }
        throw error;
      });
      const where = options.store ? `in ${options.store}` : options.dev ? 'in memory (--dev)' : `in ${options.dataDir}`;
      process.stdout.write(`weft control listening on ${control.url} (${formatAddress(options.listen)}), state ${where}\n`);
      if (options.dashboard) process.stdout.write(`dashboard: ${control.url}/\n`);
      if (options.dev) process.stdout.write('API authentication is off (--dev): anyone who can reach this address may change the registry\n');
      else if (control.adminTokenFile !== undefined) process.stdout.write(`admin token written to ${control.adminTokenFile} (clients on this machine use it; weft token create makes others)\n`);
      if (!options.dev && options.openRead) process.stdout.write('reads are open (--open-read): changes need a token\n');
      onShutdownSignal(async (signal) => {
        runtime.logger.info({ signal }, 'shutting down');
        await control.close();
        process.exit(0);
      });
    });
}
