// Model: which instance addresses a registry accepts — an operator's CIDR allow and deny lists over IP literals.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { checkHost } from './host-syntax.js';

/**
 * Never a service instance: link-local (where cloud metadata services live) also as NAT64 and 6to4 write it,
 * unspecified and broadcast addresses; always denied. IPv4-mapped IPv6 (::ffff:169.254.x.x) is matched by the IPv4 ranges.
 */
export const DEFAULT_DENIED_CIDRS: readonly string[] = ['169.254.0.0/16', '64:ff9b::a9fe:0/112', '2002:a9fe::/32', '0.0.0.0/32', '255.255.255.255/32', 'fe80::/10', '::/128'];

export interface HostPolicyOptions {
  /** When given, only IP literals inside one of these ranges are accepted (and host names are refused: they cannot be checked). */
  readonly allow?: readonly string[];
  /** Ranges refused even when allowed, besides `DEFAULT_DENIED_CIDRS`. */
  readonly deny?: readonly string[];
}

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** "10.0.0.0/8", "fd00::/8" or a bare address (a /32 or /128); undefined when it is neither. */
export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) && !address.includes('%') ? 'ipv6' : undefined;
  if (family === undefined) return undefined;
  const max = family === 'ipv4' ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max, family };
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return prefix <= max ? { address, prefix, family } : undefined;
}

export class HostPolicy {
  private readonly allow: BlockList | null;
  private readonly deny: BlockList;
  readonly allowList: readonly string[];
  readonly denyList: readonly string[];

  constructor(options: HostPolicyOptions = {}) {
    this.allowList = options.allow ?? [];
    this.denyList = [...DEFAULT_DENIED_CIDRS, ...(options.deny ?? [])];
    this.allow = options.allow === undefined || options.allow.length === 0 ? null : blockList(options.allow);
    this.deny = blockList(this.denyList);
  }

  /** Why `host` may not be registered, or undefined when it may. `host` is checked as a host first. */
  refusal(host: string): string | undefined {
    const checked = checkHost(host);
    if (!checked.ok) return checked.reason;
    if (checked.kind === 'name') {
      return this.allow === null ? undefined : `"${checked.host}" is a host name, and this control plane accepts only IP addresses within ${this.allowList.join(', ')}`;
    }
    const family = checked.kind;
    if (this.deny.check(checked.host, family)) return `${checked.host} is in a range this control plane refuses (${this.denyList.join(', ')})`;
    if (this.allow !== null && !this.allow.check(checked.host, family)) return `${checked.host} is outside the ranges this control plane accepts (${this.allowList.join(', ')})`;
    return undefined;
  }
}

function blockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (cidr === undefined) throw new RangeError(`"${text}" is not an IP address or CIDR range`);
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return list;
}
