// Transport/http1: request targets: absolute-form (sent by clients that use the sidecar as an HTTP proxy) to origin-form.
import type { IncomingMessage } from 'node:http';
import { forwardRequestHeaders } from './hop-by-hop.js';

/** True when the target is absolute-form (`http://greeter/hello`) rather than origin-form (`/hello`). */
export function isAbsoluteForm(target: string): boolean {
  const c = target.charCodeAt(0);
  return c !== 0x2f /* / */ && c !== 0x2a /* * */ && target.includes('://');
}

/** The authority of an absolute-form target (`greeter:8080` of `http://greeter:8080/x`); '' when there is none. */
export function targetAuthority(target: string): string {
  const start = target.indexOf('://') + 3;
  let end = start;
  while (end < target.length) {
    const c = target.charCodeAt(end);
    if (c === 0x2f /* / */ || c === 0x3f /* ? */ || c === 0x23 /* # */) break;
    end++;
  }
  const authority = target.slice(start, end);
  const at = authority.lastIndexOf('@');
  return at >= 0 ? authority.slice(at + 1) : authority;
}

/** The origin-form of a target: the path and query an endpoint expects. */
export function originForm(target: string): string {
  if (!isAbsoluteForm(target)) return target;
  const start = target.indexOf('://') + 3;
  const slash = target.indexOf('/', start);
  const query = target.indexOf('?', start);
  if (slash >= 0 && (query < 0 || slash < query)) return target.slice(slash);
  return query >= 0 ? `/${target.slice(query)}` : '/';
}

/**
 * Raw headers with Host replaced by the authority of an absolute-form target: a proxy ignores the Host it received
 * with such a target and sends the target's (RFC 9112 3.2.2). An empty authority leaves the headers as they were.
 */
export function withTargetHost(headers: readonly string[], target: string): string[] {
  const authority = targetAuthority(target);
  if (authority === '') return [...headers];
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') continue;
    out.push(name, headers[i + 1]!);
  }
  out.push('host', authority);
  return out;
}

/** What the next hop gets of a node:http request: its origin-form path and its headers without hop-by-hop ones. */
export interface ForwardedHead {
  readonly path: string;
  readonly headers: string[];
  readonly hasBody: boolean;
}

export function forwardedHead(req: IncomingMessage): ForwardedHead {
  const target = req.url ?? '/';
  const head = forwardRequestHeaders(req.rawHeaders);
  const path = originForm(target);
  // An absolute-form target's authority replaces Host for the next hop (RFC 9112 3.2.2).
  const headers = path !== target ? withTargetHost(head.headers, target) : head.headers;
  return { path, headers, hasBody: head.hasBody };
}
