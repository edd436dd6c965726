// Tests for how a tcp service's policies read at connection level: AuthorizationPolicy rules with and without HTTP attributes, and JwtPolicy.
import { describe, expect, it } from 'vitest';
import { parseKindPolicy, type AuthorizationPolicyInput } from '../../src/model/index.js';
import { ANONYMOUS_PEER, type PeerIdentity } from '../../src/security/authz/index.js';
import { compileTcpAuthorization, connectionLevelPolicy, jwtRequired } from '../../src/tcp/index.js';
import { spiffe } from './tcp-fixtures.js';

const proven = (service: string): PeerIdentity => ({ service, spiffeId: spiffe(service), authenticated: true });
const claimed = (service: string): PeerIdentity => ({ service, authenticated: false });
const compile = (input: Omit<AuthorizationPolicyInput, 'service'>) => compileTcpAuthorization(parseKindPolicy('AuthorizationPolicy', { service: 'db', ...input }));

describe('AuthorizationPolicy for tcp connections', () => {
  it('lets everyone in when the service has no policy', () => {
    expect(compileTcpAuthorization(undefined).allows(ANONYMOUS_PEER)).toBe(true);
  });

  it('allows proven callers a rule names, by service or by SPIFFE id, and denies the rest by default', () => {
    const authorizer = compile({ rules: [{ from: { services: ['frontend'] } }, { from: { identities: [spiffe('batch')] } }] });
    expect(authorizer.allows(proven('frontend'))).toBe(true);
    expect(authorizer.allows(proven('batch'))).toBe(true);
    expect(authorizer.allows(proven('intruder'))).toBe(false);
    expect(authorizer.allows(ANONYMOUS_PEER)).toBe(false);
    // A name nobody proved does not count, as for HTTP.
    expect(authorizer.allows(claimed('frontend'))).toBe(false);
  });

  it('allows plaintext callers only through a rule for the unauthenticated', () => {
    expect(compile({ rules: [{ from: { unauthenticated: true } }] }).allows(ANONYMOUS_PEER)).toBe(true);
    expect(compile({ default: 'allow', rules: [{ from: { unauthenticated: true }, action: 'deny' }] }).allows(ANONYMOUS_PEER)).toBe(false);
  });

  it('drops allow rules that need HTTP attributes: they grant no connection', () => {
    for (const to of [{ pathPrefix: '/public' }, { methods: ['GET'] }, { headers: { 'x-tenant': 'a' } }]) {
      const authorizer = compile({ rules: [{ from: { services: ['frontend'] }, to }] });
      expect(authorizer.allows(proven('frontend'))).toBe(false);
    }
    // A rule without HTTP attributes beside it still grants.
    expect(compile({ rules: [{ from: { services: ['frontend'] }, to: { methods: ['GET'] } }, { from: { services: ['frontend'] } }] }).allows(proven('frontend'))).toBe(true);
  });

  it('widens deny rules that need HTTP attributes to the whole connection of the callers they name', () => {
    const authorizer = compile({ default: 'allow', rules: [{ from: { services: ['frontend'] }, to: { pathPrefix: '/admin' }, action: 'deny' }] });
    expect(authorizer.allows(proven('frontend'))).toBe(false);
    expect(authorizer.allows(proven('batch'))).toBe(true);
    // Without a `from`, such a deny refuses every caller.
    expect(compile({ default: 'allow', rules: [{ to: { methods: ['DELETE'] }, action: 'deny' }] }).allows(proven('batch'))).toBe(false);
  });

  it('keeps the policy as it is otherwise', () => {
    const policy = parseKindPolicy('AuthorizationPolicy', { service: 'db', default: 'allow', allowUnauthenticatedSources: true, rules: [{ from: { services: ['a'] } }, { from: { services: ['b'] }, to: { methods: ['GET'] } }] });
    const read = connectionLevelPolicy(policy);
    expect(read.default).toBe('allow');
    expect(read.allowUnauthenticatedSources).toBe(true);
    expect(read.rules).toEqual([{ from: { services: ['a'] }, action: 'allow' }]);
  });
});

describe('JwtPolicy for tcp connections', () => {
  const jwtPolicy = (rules?: unknown) =>
    parseKindPolicy('JwtPolicy', {
      kind: 'JwtPolicy',
      service: 'db',
      providers: [{ name: 'idp', issuer: 'https://idp.test', audiences: ['db'], jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }] } }],
      ...(rules === undefined ? {} : { rules }),
    });

  it('asks for a token unless every rule lets requests through without one', () => {
    expect(jwtRequired(undefined)).toBe(false);
    expect(jwtRequired(jwtPolicy())).toBe(true);
    expect(jwtRequired(jwtPolicy([{ match: { pathPrefix: '/api' }, require: ['idp'] }]))).toBe(true);
    expect(jwtRequired(jwtPolicy([{ match: { pathPrefix: '/' }, require: [] }]))).toBe(false);
  });
});
