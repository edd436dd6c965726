// CLI: turns flag strings into typed values, with messages that say which flag and what was expected.
// Loaded for every `weft` command, `--help` included: values come from the modules that define them, which load
// neither zod nor the metrics code, not from the model and config barrels, which load both.
import { InvalidArgumentError } from 'commander';
import { parseListenAddress, type ListenAddress } from '../config/listen-address.js';
import { parseControlUrlList } from '../config/urls.js';
import { isWeftError } from '../core/index.js';
import { BALANCER_KIND_NAMES, type BalancerKind } from '../model/balancer-kind-names.js';
import { parseCidr } from '../model/host-policy.js';
import { checkHost } from '../model/host-syntax.js';
import { SERVICE_NAME } from '../model/service-name.js';
import { parseEtcdUrl } from '../registry/backends/etcd/etcd-url.js';

export function addressFlag(value: string): ListenAddress {
  const parsed = parseListenAddress(value);
  if (typeof parsed === 'string') throw new InvalidArgumentError(parsed);
  return parsed;
}

export function hostFlag(value: string): string {
  const checked = checkHost(value);
  if (!checked.ok) throw new InvalidArgumentError(checked.reason);
  return checked.host;
}

export function integerFlag(min: number, max: number, unit = ''): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number${unit}, got "${value}"`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected ${min} to ${max}${unit}, got ${n}`);
    return n;
  };
}

export const portFlag = integerFlag(1, 65535);

export function serviceFlag(value: string): string {
  if (!SERVICE_NAME.test(value)) throw new InvalidArgumentError(`expected a service name (lowercase letters, digits and "-"), got "${value}"`);
  return value;
}

/** `--control http://a:8500[,http://b:8500...]`: every control-plane replica, each URL checked. */
export function controlUrlsFlag(value: string): readonly string[] {
  const parsed = parseControlUrlList(value);
  if (typeof parsed === 'string') throw new InvalidArgumentError(parsed);
  return parsed;
}

/** `--lb greeter=random`, repeatable. */
export function lbFlag(value: string, previous: Record<string, BalancerKind> = {}): Record<string, BalancerKind> {
  const [service, kind, extra] = value.split('=');
  if (!service || !kind || extra !== undefined) throw new InvalidArgumentError(`expected SERVICE=ALGORITHM (e.g. greeter=random), got "${value}"`);
  serviceFlag(service);
  if (!(BALANCER_KIND_NAMES as readonly string[]).includes(kind)) {
    throw new InvalidArgumentError(`unknown algorithm "${kind}"; expected one of: ${BALANCER_KIND_NAMES.join(', ')}`);
  }
  return { ...previous, [service]: kind as BalancerKind };
}

/**
 * `--upstream redis:6380`, repeatable: service name → local port. A name or a port given twice is refused here;
 * clashes with the config file and the sidecar's own ports are found when the two are merged.
 */
export function upstreamFlag(value: string, previous: Readonly<Record<string, number>> = {}): Record<string, number> {
  const match = /^([^:]*):(\d{1,5})$/.exec(value.trim());
  if (match === null) throw new InvalidArgumentError(`expected NAME:LOCALPORT (e.g. redis:6380), got "${value}"`);
  const [, service = '', digits = ''] = match;
  serviceFlag(service);
  const port = Number(digits);
  if (port < 1 || port > 65535) throw new InvalidArgumentError(`expected a local port from 1 to 65535, got ${port} in "${value}"`);
  const before = previous[service];
  if (before !== undefined) throw new InvalidArgumentError(`expected one local port per upstream: ${service} is given twice (${service}:${before} and ${service}:${port})`);
  const other = Object.entries(previous).find(([, taken]) => taken === port)?.[0];
  if (other !== undefined) throw new InvalidArgumentError(`expected a local port of its own for each upstream: ${port} is already the port of the upstream ${other} (${other}:${port})`);
  return { ...previous, [service]: port };
}

/** `--allow-instance-cidr 10.0.0.0/8,fd00::/8`, repeatable: every range checked. */
export function cidrListFlag(value: string, previous: readonly string[] = []): readonly string[] {
  const ranges = value.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (ranges.length === 0) throw new InvalidArgumentError(`expected CIDR ranges such as 10.0.0.0/8,fd00::/8, got "${value}"`);
  for (const range of ranges) {
    if (parseCidr(range) === undefined) throw new InvalidArgumentError(`"${range}" is not an IP address or CIDR range (e.g. 10.0.0.0/8, fd00::/8)`);
  }
  return [...previous, ...ranges];
}

/** `--meta version=2`, repeatable. */
export function metaFlag(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`expected KEY=VALUE, got "${value}"`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/** `--store etcd://host:port[,host:port][/prefix]`. */
export function storeFlag(value: string): string {
  try {
    parseEtcdUrl(value);
  } catch (error) {
    throw new InvalidArgumentError(isWeftError(error) ? error.message.replace(/^--store: /, '') : String(error));
  }
  return value;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `24h`, `7d` → milliseconds. */
export function durationFlag(value: string): number {
  const match = /^(\d{1,6})([smhd])$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`expected a duration like 90s, 30m, 24h or 7d, got "${value}"`);
  return Number(match[1]) * (DURATION_UNITS[match[2] ?? 's'] ?? 1_000);
}
