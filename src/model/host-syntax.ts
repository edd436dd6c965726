// Model: what a host is and how host:port is written, without zod, so that command-line flags can check hosts cheaply.
import { isIPv4, isIPv6 } from 'node:net';

export type HostKind = 'ipv4' | 'ipv6' | 'name';

export type HostCheck = { readonly ok: true; readonly host: string; readonly kind: HostKind } | { readonly ok: false; readonly reason: string };

export const HOST_EXPECTATION = 'expected an IPv4 address, an IPv6 address without brackets, or a host name (RFC 1123: letters, digits and "-", labels of at most 63 characters)';

/** RFC 1123 labels, with `_` besides: Docker Compose and some orchestrators name hosts with it, and resolvers and URLs take it. */
const LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
/** A last label that a URL parser reads as a number (decimal, 0x-hex, octal) turns the whole name into an IPv4 address. */
const NUMERIC_LABEL = /^(0x[0-9a-f]*|[0-9]+)$/i;

/**
 * Whether `text` is a host weft can put in a URL and dial as it is: an IPv4 literal in dotted decimal, an IPv6
 * literal without brackets or zone, or an RFC 1123 name (an optional final dot, no numeric last label, which URL
 * parsers would read as an address). Surrounding whitespace is trimmed; anything else is refused, not repaired.
 */
export function checkHost(text: string): HostCheck {
  const host = text.trim();
  if (host === '') return { ok: false, reason: 'expected a host name or IP address, not an empty string' };
  if (host.length > 253) return { ok: false, reason: 'expected at most 253 characters' };
  if (isIPv4(host)) return { ok: true, host, kind: 'ipv4' };
  if (host.startsWith('[') || host.endsWith(']')) return { ok: false, reason: `"${printable(host)}": write an IPv6 address without brackets` };
  if (host.includes(':')) {
    if (host.includes('%')) return { ok: false, reason: `"${printable(host)}": an IPv6 zone (%) cannot be routed between hosts` };
    return isIPv6(host) ? { ok: true, host: host.toLowerCase(), kind: 'ipv6' } : { ok: false, reason: `"${printable(host)}" is not an IPv6 address` };
  }
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  const labels = name.split('.');
  if (labels.some((label) => !LABEL.test(label))) return { ok: false, reason: `"${printable(host)}" is not a host name: ${HOST_EXPECTATION}` };
  if (NUMERIC_LABEL.test(labels[labels.length - 1]!)) return { ok: false, reason: `"${printable(host)}" is neither an IPv4 address nor a host name (its last label is a number)` };
  return { ok: true, host, kind: 'name' };
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Shows control characters of untrusted text as escapes, so an error message never carries them into a log or a terminal. */
export function printable(text: string): string {
  const clipped = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return JSON.stringify(clipped).slice(1, -1);
}
