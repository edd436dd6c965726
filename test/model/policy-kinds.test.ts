// Model: policy kinds beside ServicePolicy — the AuthorizationPolicy schema, JwtPolicy as a kind, rateLimits defaults, kind watch events (foreign kinds skipped) and snapshot maps.
import { describe, expect, it } from 'vitest';
import {
  defaultPolicy,
  EMPTY_KIND_POLICIES,
  kindPolicyMaps,
  parseAnyKindPolicy,
  parseKindPolicy,
  parsePolicy,
  snapshotFromInstances,
  snapshotToJSON,
  watchEventSchema,
  withKindPolicy,
} from '../../src/model/index.js';

const authz = parseKindPolicy('AuthorizationPolicy', { service: 'api', rules: [{ from: { services: ['web'] } }] });

describe('policy kinds', () => {
  it('fills in the AuthorizationPolicy defaults: deny, claims not believed, allow rules', () => {
    expect(authz).toEqual({ kind: 'AuthorizationPolicy', service: 'api', default: 'deny', allowUnauthenticatedSources: false, rules: [{ from: { services: ['web'] }, action: 'allow' }] });
    expect(parseAnyKindPolicy(authz)).toEqual(authz);
    expect(() => parseAnyKindPolicy({ kind: 'ServicePolicy', service: 'api' })).toThrow(/kind: expected one of: AuthorizationPolicy/);
    expect(() => parseKindPolicy('AuthorizationPolicy', { service: 'api', rules: [{ to: { pathPrefix: 'x' } }] })).toThrow(/rules\[0\]\.to\.pathPrefix: expected a path starting with "\/"/);
  });

  it('keeps a ServicePolicy without rateLimits exactly as before, and defaults a limit\'s fields', () => {
    expect(defaultPolicy('api')).not.toHaveProperty('rateLimits');
    expect(parsePolicy({ service: 'api', rateLimits: [{ requestsPerSecond: 0.5 }] }).rateLimits).toEqual([{ match: { pathPrefix: '/' }, perSource: false, requestsPerSecond: 0.5, burst: 1 }]);
  });

  it('parses kind events and resets, and skips kinds this build does not know', () => {
    expect(watchEventSchema.parse({ type: 'kind-policy', version: 3, policy: authz })).toEqual({ type: 'kind-policy', version: 3, policy: authz });
    expect(watchEventSchema.parse({ type: 'kind-policy-remove', version: 4, kind: 'AuthorizationPolicy', service: 'api' })).toMatchObject({ type: 'kind-policy-remove' });
    expect(watchEventSchema.safeParse({ type: 'kind-policy', version: 3, policy: { ...authz, default: 'maybe' } }).success).toBe(false);
    expect(watchEventSchema.parse({ type: 'kind-policy', version: 5, policy: { kind: 'FuturePolicy', service: 'api' } })).toEqual({ type: 'ping', version: 5 });
    expect(watchEventSchema.parse({ type: 'kind-policy-remove', version: 6, kind: 'FuturePolicy', service: 'api' })).toEqual({ type: 'ping', version: 6 });
    const reset = watchEventSchema.parse({ type: 'reset', version: 7, instances: [], kindPolicies: [authz, { kind: 'FuturePolicy', service: 'api' }] });
    expect(reset).toMatchObject({ type: 'reset', kindPolicies: [authz] });
  });

  it('replaces one kind\'s map in a snapshot, keeping every unchanged policy\'s identity', () => {
    const maps = kindPolicyMaps([authz]);
    expect(maps.AuthorizationPolicy.get('api')).toBe(authz);
    const other = parseKindPolicy('AuthorizationPolicy', { service: 'billing' });
    const next = withKindPolicy(maps, 'AuthorizationPolicy', 'billing', other);
    expect(next.AuthorizationPolicy.get('api')).toBe(authz);
    expect(maps.AuthorizationPolicy.has('billing')).toBe(false);
    expect(withKindPolicy(next, 'AuthorizationPolicy', 'api', undefined).AuthorizationPolicy.has('api')).toBe(false);
    expect(snapshotFromInstances(1, []).kindPolicies).toBe(EMPTY_KIND_POLICIES);
    expect(snapshotToJSON(snapshotFromInstances(1, [], undefined, next)).kindPolicies).toEqual({ AuthorizationPolicy: { api: authz, billing: other }, JwtPolicy: {} });
  });

  it('carries a JwtPolicy as a kind: a stored (defaulted) policy parses to itself, through watch events too', () => {
    const jwt = parseKindPolicy('JwtPolicy', {
      kind: 'JwtPolicy',
      service: 'api',
      providers: [{ name: 'main', issuer: 'https://issuer.example', audiences: ['api'], jwks: { url: 'https://issuer.example/jwks.json' }, forwardClaims: { sub: 'x-user-id' } }],
    });
    const stored: unknown = JSON.parse(JSON.stringify(jwt));
    expect(parseAnyKindPolicy(stored)).toEqual(jwt);
    expect(watchEventSchema.parse({ type: 'kind-policy', version: 8, policy: stored })).toEqual({ type: 'kind-policy', version: 8, policy: jwt });
    expect(kindPolicyMaps([authz, jwt]).JwtPolicy.get('api')).toBe(jwt);
    expect(() => parseKindPolicy('JwtPolicy', { kind: 'JwtPolicy', service: 'api', providers: [] })).toThrow(/providers: expected at least one provider/);
  });
});
