// Model: the one definition of a host, a port and an HTTP header, shared by the REST API, the Consul API, config files and the sidecar.
import { BlockList, isIP, isIPv6 } from 'node:net';
import { z } from 'zod';
import { checkHost, printable } from './host-syntax.js';

// The host syntax lives in a module without zod (for the CLI's flags); its importers keep finding it here.
export { checkHost, formatHostPort, HOST_EXPECTATION, printable, type HostCheck, type HostKind } from './host-syntax.js';

/** Whether `text` can be dialled as it is: a host `checkHost` accepts, without surrounding whitespace (any case). */
export function isValidHost(text: string): boolean {
  return checkHost(text).ok && text.trim() === text;
}

/** A host as the APIs and config files take it: trimmed, then checked by `checkHost`. */
export const hostSchema = z.string({ error: 'expected a host name or IP address' }).transform((text, ctx) => {
  const checked = checkHost(text);
  if (checked.ok) return checked.host;
  ctx.addIssue({ code: 'custom', message: checked.reason });
  return z.NEVER;
});

export const portSchema = z.number({ error: 'expected a port number 1-65535' }).int('expected an integer').min(1, 'expected 1-65535').max(65535, 'expected 1-65535');

export function isValidPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

type IpLiteral = { readonly address: string; readonly family: 'ipv4' | 'ipv6' };

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
const UNSPECIFIED_V6 = new BlockList();
UNSPECIFIED_V6.addAddress('::', 'ipv6');
const V4_MAPPED = new BlockList();
V4_MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

/** An IP literal, without the brackets a URL's hostname keeps around IPv6 and without a zone; else undefined. */
function ipLiteral(host: string): IpLiteral | undefined {
  const address = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const version = isIP(address);
  if (version === 0 || address.includes('%')) return undefined;
  return { address, family: version === 6 ? 'ipv6' : 'ipv4' };
}

/**
 * Whether `host` is an IP literal in 127.0.0.0/8 or ::1 (brackets allowed, IPv4-mapped IPv6 included). Names, even
 * `localhost`, are not: what a name reaches is up to resolvers, so callers decide about names themselves.
 */
export function isLoopbackAddress(host: string): boolean {
  const ip = ipLiteral(host);
  return ip !== undefined && LOOPBACK.check(ip.address, ip.family);
}

/**
 * Whether a listener bound to one host can take connections addressed to the other: the same address in any
 * spelling (IPv4-mapped included), a wildcard covering the other (`0.0.0.0` IPv4, `::` everything on a dual-stack
 * host), or a name on either side, which may resolve to anything.
 */
export function hostsOverlap(a: string, b: string): boolean {
  const first = ipLiteral(a);
  const second = ipLiteral(b);
  if (first === undefined || second === undefined) return true;
  if (wildcardCovers(first, second) || wildcardCovers(second, first)) return true;
  const same = new BlockList();
  same.addAddress(first.address, first.family);
  return same.check(second.address, second.family);
}

function wildcardCovers(listen: IpLiteral, other: IpLiteral): boolean {
  if (listen.family === 'ipv6') return UNSPECIFIED_V6.check(listen.address, 'ipv6');
  return listen.address === '0.0.0.0' && (other.family === 'ipv4' || V4_MAPPED.check(other.address, 'ipv6'));
}

export type HostPortCheck = { readonly ok: true; readonly host: string; readonly port: number } | { readonly ok: false; readonly reason: string };

/** `host:port` as `formatHostPort` writes it: brackets around an IPv6 host, a port 1-65535, no spaces anywhere. */
export function parseHostPort(text: string): HostPortCheck {
  const match = /^(?:\[([^\]\s]*)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text);
  if (!match) return { ok: false, reason: `"${printable(text)}" is not host:port (with an IPv6 host in brackets)` };
  const host = checkHost(match[1] ?? match[2] ?? '');
  if (!host.ok) return host;
  if ((match[1] !== undefined) !== (host.kind === 'ipv6')) return { ok: false, reason: `"${printable(text)}": brackets go around an IPv6 host, and only around one` };
  const port = Number(match[3]);
  if (!isValidPort(port)) return { ok: false, reason: `"${printable(text)}": expected a port 1-65535` };
  return { ok: true, host: host.host, port };
}

/** Whether two hosts are the same host as written: IPv6 literals in any spelling, names without regard to case or a final dot. */
export function sameHost(a: string, b: string): boolean {
  return canonicalHost(a) === canonicalHost(b);
}

function canonicalHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIPv6(bare) && !bare.includes('%')) return new URL(`http://[${bare}]/`).hostname;
  return bare.toLowerCase().replace(/\.$/, '');
}

/** An HTTP field name is a token (RFC 9110 5.1). */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What Node's HTTP writer accepts in a field value: no control characters but tab, nothing past U+00FF (so no CR, LF or NUL). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** A field name Node's HTTP writer takes, whatever its length. */
export function isHeaderToken(text: string): boolean {
  return HEADER_NAME.test(text);
}

/** A field value (or reason phrase) Node's HTTP writer takes, whatever its length. */
export function isWritableHeaderValue(text: string): boolean {
  return HEADER_VALUE.test(text);
}

/** A header name a stored record may hold: a token of bounded length. */
export function isHeaderName(text: string): boolean {
  return text.length <= 256 && HEADER_NAME.test(text);
}

/** A header value a stored record may hold: what the writer takes, of bounded length. */
export function isHeaderValue(text: string): boolean {
  return text.length <= 8192 && HEADER_VALUE.test(text);
}

export const headerNameSchema = z.string().refine(isHeaderName, 'expected a header name: a token of letters, digits and !#$%&\'*+-.^_`|~ (at most 256 characters)');
export const headerValueSchema = z.string().refine(isHeaderValue, 'expected a header value without CR, LF, NUL or other control characters (at most 8192 characters)');
