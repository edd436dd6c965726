// Security: an AuthorizationPolicy compiled once into sets and prefixes, so judging a request is a few comparisons and no allocation.
import type { AuthorizationPolicy, AuthorizationRule } from '../../model/index.js';
import { headerMatches, type HeaderMatchMode } from './header-match.js';
import type { PeerIdentity } from './peer-identity.js';

/** What the inbound side asks of a compiled policy. */
export interface Authorizer {
  /** `headers` are the request's raw [name, value, ...] pairs; `path` is the origin-form target, query included. */
  allows(peer: PeerIdentity, method: string, path: string, headers: readonly string[]): boolean;
}

/** Lets every request through: a service without an AuthorizationPolicy. */
export const ALLOW_ALL: Authorizer = { allows: () => true };

interface CompiledRule {
  readonly services: ReadonlySet<string> | null;
  readonly identities: ReadonlySet<string> | null;
  readonly unauthenticated: boolean;
  /** Whether a claimed (unproven) service name may satisfy `services`. */
  readonly claimsCount: boolean;
  readonly anyCaller: boolean;
  readonly methods: ReadonlySet<string> | null;
  readonly pathPrefix: string | null;
  /** [lowercase name, value] pairs. */
  readonly headers: readonly (readonly [string, string])[];
  readonly headerMode: HeaderMatchMode;
}

export function compileAuthorization(policy: AuthorizationPolicy): Authorizer {
  const deny: CompiledRule[] = [];
  const allow: CompiledRule[] = [];
  for (const rule of policy.rules) {
    const isDeny = rule.action === 'deny';
    // A deny rule may act on a claimed name: believing a claim there can only refuse more.
    (isDeny ? deny : allow).push(compileRule(rule, isDeny || policy.allowUnauthenticatedSources, isDeny ? 'some' : 'every'));
  }
  const byDefault = policy.default === 'allow';
  const watchesPaths = policy.rules.some((rule) => rule.to?.pathPrefix !== undefined);
  return {
    allows(peer, method, path, headers) {
      // "/public/../admin" may reach the app as /admin: a path the app could read otherwise than a prefix does is refused.
      if (watchesPaths && ambiguousPath(path)) return false;
      for (const rule of deny) if (matches(rule, peer, method, path, headers)) return false;
      for (const rule of allow) if (matches(rule, peer, method, path, headers)) return true;
      return byDefault;
    },
  };
}

function compileRule(rule: AuthorizationRule, claimsCount: boolean, headerMode: HeaderMatchMode): CompiledRule {
  const from = rule.from;
  const to = rule.to;
  return {
    services: from?.services ? new Set(from.services) : null,
    identities: from?.identities ? new Set(from.identities) : null,
    unauthenticated: from?.unauthenticated === true,
    claimsCount,
    anyCaller: from === undefined,
    methods: to?.methods ? new Set(to.methods) : null,
    pathPrefix: to?.pathPrefix ?? null,
    headers: to?.headers ? Object.entries(to.headers) : [],
    headerMode,
  };
}

function matches(rule: CompiledRule, peer: PeerIdentity, method: string, path: string, headers: readonly string[]): boolean {
  if (!rule.anyCaller && !fromMatches(rule, peer)) return false;
  if (rule.methods !== null && !rule.methods.has(method)) return false;
  if (rule.pathPrefix !== null && !path.startsWith(rule.pathPrefix)) return false;
  for (const [name, value] of rule.headers) if (!headerMatches(headers, name, value, rule.headerMode)) return false;
  return true;
}

function fromMatches(rule: CompiledRule, peer: PeerIdentity): boolean {
  if (rule.unauthenticated && !peer.authenticated) return true;
  if (rule.identities !== null && peer.authenticated && peer.spiffeId !== undefined && rule.identities.has(peer.spiffeId)) return true;
  return rule.services !== null && peer.service !== undefined && (peer.authenticated || rule.claimsCount) && rule.services.has(peer.service);
}

/** Dot segments, doubled or back slashes, and percent-encoded dots or slashes in the path part. */
export function ambiguousPath(path: string): boolean {
  const end = path.indexOf('?');
  const limit = end === -1 ? path.length : end;
  for (let i = 0; i < limit; i++) {
    const code = path.charCodeAt(i);
    if (code === 92) return true; // "\"
    if (code === 37 && i + 2 < limit) {
      // "%2e" or "%2f", in any case
      const hi = path.charCodeAt(i + 1);
      const lo = path.charCodeAt(i + 2) | 32;
      if (hi === 50 && (lo === 101 || lo === 102)) return true;
    }
    if (code === 47 && i + 1 < limit) {
      const next = path.charCodeAt(i + 1);
      if (next === 47) return true; // "//"
      if (next === 46) {
        // "/." or "/.." followed by "/" or the end of the path
        const after = i + 2 < limit ? path.charCodeAt(i + 2) : 47;
        if (after === 47) return true;
        if (after === 46 && (i + 3 >= limit || path.charCodeAt(i + 3) === 47)) return true;
      }
    }
  }
  return false;
}
