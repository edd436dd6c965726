// Security/authz: compiled AuthorizationPolicies — defaults, deny over allow, identities, claimed names, methods, paths and headers.
import { describe, expect, it } from 'vitest';
import { parseKindPolicy, type AuthorizationPolicyInput } from '../../../src/model/index.js';
import { ambiguousPath, ANONYMOUS_PEER, ClaimedPeers, compileAuthorization, headerMatches, peerKey, type PeerIdentity } from '../../../src/security/authz/index.js';

const claimed = (service: string): PeerIdentity => ({ service, authenticated: false });
const proven = (service: string): PeerIdentity => ({ service, spiffeId: `spiffe://weft.local/service/${service}`, authenticated: true });

function authorizer(policy: Omit<AuthorizationPolicyInput, 'service'>) {
  return compileAuthorization(parseKindPolicy('AuthorizationPolicy', { service: 'api', ...policy }));
}

describe('compiled authorization policy', () => {
  it('answers with its default when no rule matches: deny unless told', () => {
    expect(authorizer({}).allows(ANONYMOUS_PEER, 'GET', '/', [])).toBe(false);
    expect(authorizer({ default: 'allow' }).allows(ANONYMOUS_PEER, 'GET', '/', [])).toBe(true);
  });

  it('lets a service name allow only a proven caller unless the policy accepts claims', () => {
    const strict = authorizer({ rules: [{ from: { services: ['frontend'] } }] });
    expect(strict.allows(proven('frontend'), 'GET', '/', [])).toBe(true);
    expect(strict.allows(claimed('frontend'), 'GET', '/', [])).toBe(false);
    expect(strict.allows(proven('other'), 'GET', '/', [])).toBe(false);
    const lenient = authorizer({ allowUnauthenticatedSources: true, rules: [{ from: { services: ['frontend'] } }] });
    expect(lenient.allows(claimed('frontend'), 'GET', '/', [])).toBe(true);
    expect(lenient.allows(claimed('other'), 'GET', '/', [])).toBe(false);
    expect(lenient.allows(ANONYMOUS_PEER, 'GET', '/', [])).toBe(false);
  });

  it('matches SPIFFE ids only for proven callers, and `unauthenticated` only for unproven ones', () => {
    const policy = authorizer({ rules: [{ from: { identities: ['spiffe://weft.local/service/batch'] } }, { from: { unauthenticated: true }, to: { pathPrefix: '/health' } }] });
    expect(policy.allows(proven('batch'), 'POST', '/jobs', [])).toBe(true);
    expect(policy.allows({ service: 'batch', spiffeId: 'spiffe://weft.local/service/batch', authenticated: false }, 'POST', '/jobs', [])).toBe(false);
    expect(policy.allows(ANONYMOUS_PEER, 'GET', '/health', [])).toBe(true);
    expect(policy.allows(proven('web'), 'GET', '/health', [])).toBe(false);
  });

  it('lets deny rules win over allow rules, and act on claimed names', () => {
    const policy = authorizer({
      default: 'allow',
      rules: [
        { to: { pathPrefix: '/admin' }, action: 'deny' },
        { from: { services: ['ops'] }, to: { pathPrefix: '/admin' } },
        { from: { services: ['scraper'] }, action: 'deny' },
      ],
    });
    expect(policy.allows(proven('ops'), 'GET', '/admin/users', [])).toBe(false);
    expect(policy.allows(proven('ops'), 'GET', '/public', [])).toBe(true);
    expect(policy.allows(claimed('scraper'), 'GET', '/public', [])).toBe(false);
    expect(policy.allows(claimed('web'), 'GET', '/public', [])).toBe(true);
  });

  it('requires every condition of `to`: method, path prefix and headers', () => {
    const policy = authorizer({ rules: [{ to: { methods: ['GET', 'HEAD'], pathPrefix: '/public', headers: { 'x-env': 'prod' } } }] });
    const prod = ['X-Env', 'prod'];
    expect(policy.allows(ANONYMOUS_PEER, 'GET', '/public/a?x=1', prod)).toBe(true);
    expect(policy.allows(ANONYMOUS_PEER, 'HEAD', '/public', prod)).toBe(true);
    expect(policy.allows(ANONYMOUS_PEER, 'POST', '/public/a', prod)).toBe(false);
    expect(policy.allows(ANONYMOUS_PEER, 'GET', '/private', prod)).toBe(false);
    expect(policy.allows(ANONYMOUS_PEER, 'GET', '/public/a', ['x-env', 'dev'])).toBe(false);
    expect(policy.allows(ANONYMOUS_PEER, 'GET', '/public/a', [])).toBe(false);
    // A second copy with another value must not ride along on an allow.
    expect(policy.allows(ANONYMOUS_PEER, 'GET', '/public/a', ['x-env', 'prod', 'x-env', 'dev'])).toBe(false);
  });

  it('refuses paths an app could read past a prefix once a rule looks at paths', () => {
    const policy = authorizer({ rules: [{ to: { pathPrefix: '/public' } }] });
    for (const path of ['/public/../admin', '/public/%2e%2e/admin', '/public/%2Fadmin', '/public//x', '/public\\..\\admin', '/public/.']) {
      expect(policy.allows(ANONYMOUS_PEER, 'GET', path, []), path).toBe(false);
    }
    expect(policy.allows(ANONYMOUS_PEER, 'GET', '/public/a.b/..c?next=/../x', [])).toBe(true);
  });
});

describe('authorization helpers', () => {
  it('matches repeated headers by every copy for allows and any copy for denials', () => {
    const raw = ['x-env', 'prod', 'X-ENV', 'dev'];
    expect(headerMatches(raw, 'x-env', 'prod', 'every')).toBe(false);
    expect(headerMatches(raw, 'x-env', 'dev', 'some')).toBe(true);
    expect(headerMatches(['x-env', 'prod'], 'x-env', 'prod', 'every')).toBe(true);
    expect(headerMatches([], 'x-env', 'prod', 'every')).toBe(false);
  });

  it('spots ambiguous paths only in the path part', () => {
    expect(ambiguousPath('/a/b.c/d')).toBe(false);
    expect(ambiguousPath('/a/..')).toBe(true);
    expect(ambiguousPath('/a?b=/../c')).toBe(false);
  });

  it('shares one unauthenticated identity per claimed name, and treats a malformed claim as anonymous', () => {
    const peers = new ClaimedPeers(1);
    const first = peers.of('web');
    expect(first).toEqual({ service: 'web', authenticated: false });
    expect(peers.of('web')).toBe(first);
    expect(peers.of('Bad_Name')).toBe(ANONYMOUS_PEER);
    expect(peers.of(undefined)).toBe(ANONYMOUS_PEER);
    expect(peers.of('beyond-cap')).toEqual({ service: 'beyond-cap', authenticated: false });
    expect(peerKey(proven('web'))).toBe('spiffe://weft.local/service/web');
    expect(peerKey(first)).toBe('web');
    expect(peerKey(ANONYMOUS_PEER)).toBe('');
  });
});
