// Consul API: what an HTTP or TCP check connects to, and whether it may — one rule for a registration and for every run of a stored check.
import { isHeaderName, isHeaderValue, parseHostPort, printable, type HostPolicy } from '../../model/index.js';
import { ownHostRefusal } from '../instance-address.js';
import { HTTP_METHOD, type CheckDefinition } from './service-definition.js';

export type CheckTarget =
  | { readonly kind: 'http'; readonly url: URL; readonly method: string; readonly headers: Readonly<Record<string, readonly string[]>> }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** The field of the Consul check body a refusal is about, so that a registration's 400 names it. */
export type CheckTargetField = 'HTTP' | 'TCP' | 'Method' | 'Header';

export type CheckTargetResult = { readonly ok: true; readonly target: CheckTarget } | { readonly ok: false; readonly field: CheckTargetField; readonly reason: string };

/**
 * The target of an HTTP or TCP check of the instance at `ownHost`, or why it cannot run. The control plane runs
 * checks from its own network position, so a check may reach only the instance's own host (any port or path),
 * never an address the host policy refuses; and only with a method and headers Node can send.
 */
export function checkTarget(check: CheckDefinition, ownHost: string, policy: HostPolicy): CheckTargetResult {
  if (check.kind === 'tcp') {
    const parsed = parseHostPort(check.target ?? '');
    if (!parsed.ok) return { ok: false, field: 'TCP', reason: parsed.reason };
    const refusal = ownHostRefusal(parsed.host, ownHost, policy);
    return refusal === undefined ? { ok: true, target: { kind: 'tcp', host: parsed.host, port: parsed.port } } : { ok: false, field: 'TCP', reason: refusal };
  }
  if (check.kind !== 'http') return { ok: false, field: 'HTTP', reason: `a ${String(check.kind).toUpperCase()} check is not run by the agent` };
  let url: URL;
  try {
    url = new URL(check.target ?? '');
  } catch {
    return { ok: false, field: 'HTTP', reason: `"${printable(check.target ?? '')}" is not a URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, field: 'HTTP', reason: 'expected an http:// or https:// URL' };
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const refusal = ownHostRefusal(host, ownHost, policy);
  if (refusal !== undefined) return { ok: false, field: 'HTTP', reason: refusal };
  const method = check.method ?? 'GET';
  if (!HTTP_METHOD.test(method)) return { ok: false, field: 'Method', reason: `"${printable(method)}" is not an HTTP method such as GET` };
  const headers = check.headers ?? {};
  for (const [name, values] of Object.entries(headers)) {
    if (!isHeaderName(name)) return { ok: false, field: 'Header', reason: `"${printable(name)}" is not a header name (a token of letters, digits and !#$%&'*+-.^_\`|~)` };
    if (values.some((value) => !isHeaderValue(value))) return { ok: false, field: 'Header', reason: `a value of ${name} has CR, LF, NUL or other control characters` };
  }
  return { ok: true, target: { kind: 'http', url, method, headers } };
}
