// Security/JWT: the authenticator against real tokens — valid, forged, alg none, HMAC with the public key, expiry, audience, issuer, unknown kid, missing, and per-route rules.
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseJwtPolicy, type JwtPolicyInput } from '../../../src/model/index.js';
import { compileJwtPolicy, unauthenticatedError, type JwtAuthenticator, type JwtAuthResult, type JwtRejected } from '../../../src/security/jwt/index.js';
import { AUDIENCE, ISSUER, nowSeconds, signingKey, signToken, type SigningKey } from './jwt-fixtures.js';

let key: SigningKey;
let otherKey: SigningKey;
let edKey: SigningKey;
const open: JwtAuthenticator[] = [];

beforeAll(async () => {
  key = await signingKey('k1');
  otherKey = await signingKey('k1'); // same kid, different key: a forger's
  edKey = await signingKey('ed1', 'EdDSA');
});
afterEach(() => {
  for (const authenticator of open.splice(0)) authenticator.close();
});

function authenticator(overrides: Partial<JwtPolicyInput> = {}): JwtAuthenticator {
  const policy = parseJwtPolicy({
    kind: 'JwtPolicy',
    service: 'api',
    providers: [{ name: 'main', issuer: ISSUER, audiences: [AUDIENCE], jwks: { keys: [key.publicJwk, edKey.publicJwk] }, forwardClaims: { sub: 'x-user-id', scope: 'x-scope' } }],
    rules: [
      { match: { pathPrefix: '/public/' }, require: [] },
      { match: { pathPrefix: '/' }, require: ['main'] },
    ],
    ...overrides,
  });
  const compiled = compileJwtPolicy(policy);
  open.push(compiled);
  return compiled;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function rejected(result: JwtAuthResult): JwtRejected {
  if (result.ok) throw new Error('expected a rejection');
  return result;
}

describe('a valid token', () => {
  it('is accepted with its claims forwarded as headers and the token and claim headers to remove', async () => {
    const token = await signToken(key, { scope: ['read', 'write'] });
    const result = await authenticator().authenticate('GET', '/orders?x=1', bearer(token));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.principal?.subject).toBe('user-1');
    expect(result.principal?.provider).toBe('main');
    expect(result.forwardHeaders).toEqual([
      ['x-user-id', 'user-1'],
      ['x-scope', 'read,write'],
    ]);
    expect([...result.removeHeaders].sort()).toEqual(['authorization', 'x-scope', 'x-user-id']);
  });

  it('is accepted when signed with EdDSA, and with a lower-case scheme', async () => {
    const token = await signToken(edKey);
    expect((await authenticator().authenticate('GET', '/', { authorization: `bearer ${token}` })).ok).toBe(true);
  });

  it('keeps the token header when the provider forwards the token', async () => {
    const a = authenticator({ providers: [{ name: 'main', issuer: ISSUER, audiences: [AUDIENCE], jwks: { keys: [key.publicJwk] }, forwardToken: true }] });
    const result = await a.authenticate('GET', '/', bearer(await signToken(key)));
    expect(result.ok && result.removeHeaders).toEqual([]);
  });

  it('drops a claim value that could not travel safely in a header', async () => {
    const token = await signToken(key, { sub: 'evil\r\nx-admin: 1' });
    const result = await authenticator().authenticate('GET', '/', bearer(token));
    expect(result.ok && result.forwardHeaders).toEqual([]);
  });
});

describe('a missing token', () => {
  it('is refused with a bare Bearer challenge (no error attribute, RFC 6750 3.1)', async () => {
    const result = rejected(await authenticator().authenticate('GET', '/orders', {}));
    expect(result).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'missing', wwwAuthenticate: 'Bearer realm="api"' });
    const error = unauthenticatedError(result);
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.wwwAuthenticate).toBe('Bearer realm="api"');
  });

  it('counts another scheme as missing', async () => {
    expect(rejected(await authenticator().authenticate('GET', '/', { authorization: 'Basic dXNlcjpwdw==' })).reason).toBe('missing');
  });
});

describe('a bad token is refused with 401 and invalid_token', () => {
  const cases: [string, () => Promise<string>, string][] = [
    ['a forged signature (same kid, another key)', () => signToken(otherKey), 'signature'],
    ['alg none', async () => new UnsecuredJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'admin', exp: nowSeconds() + 600 }).encode(), 'algorithm'],
    [
      'HS256 signed with the public key as the HMAC secret',
      () =>
        new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'admin', exp: nowSeconds() + 600 })
          .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
          .sign(new TextEncoder().encode(key.publicPem)),
      'algorithm',
    ],
    ['expired beyond the skew', () => signToken(key, { exp: nowSeconds() - 60 }), 'expired'],
    ['not yet valid beyond the skew', () => signToken(key, { nbf: nowSeconds() + 120 }), 'not-yet-valid'],
    ['a wrong audience', () => signToken(key, { aud: 'billing' }), 'audience'],
    ['a wrong issuer', () => signToken(key, { iss: 'https://evil.example' }), 'issuer'],
    ['an unknown kid', async () => signToken(await signingKey('k-unknown')), 'unknown-key'],
    ['no exp claim', () => signToken(key, { exp: undefined }), 'claims'],
  ];
  it.each(cases)('%s', async (_name, make, reason) => {
    const token = await make();
    const result = rejected(await authenticator().authenticate('GET', '/orders', bearer(token)));
    expect(result.reason).toBe(reason);
    expect(result.status).toBe(401);
    expect(result.wwwAuthenticate).toMatch(/^Bearer realm="api", error="invalid_token", error_description="[^"\\]+"$/);
    expect(result.detail).not.toContain(token);
    expect(result.wwwAuthenticate).not.toContain(token.split('.')[1]);
  });

  it('refuses an algorithm the provider does not allow, even with a valid signature', async () => {
    const a = authenticator({ providers: [{ name: 'main', issuer: ISSUER, audiences: [AUDIENCE], jwks: { keys: [key.publicJwk, edKey.publicJwk] }, algorithms: ['EdDSA'] }] });
    expect((await a.authenticate('GET', '/', bearer(await signToken(edKey)))).ok).toBe(true);
    expect(rejected(await a.authenticate('GET', '/', bearer(await signToken(key)))).reason).toBe('algorithm');
  });

  it('refuses garbage and two Authorization values as malformed', async () => {
    expect(rejected(await authenticator().authenticate('GET', '/', bearer('not-a-jwt'))).reason).toBe('malformed');
    expect(rejected(await authenticator().authenticate('GET', '/', bearer('a.b.c'))).reason).toBe('malformed');
    const token = await signToken(key);
    expect(rejected(await authenticator().authenticate('GET', '/', { authorization: [`Bearer ${token}`, `Bearer ${token}`] })).reason).toBe('malformed');
  });
});

describe('clock skew', () => {
  it('accepts exp and nbf within the skew (30 s by default)', async () => {
    const a = authenticator();
    expect((await a.authenticate('GET', '/', bearer(await signToken(key, { exp: nowSeconds() - 10 })))).ok).toBe(true);
    expect((await a.authenticate('GET', '/', bearer(await signToken(key, { nbf: nowSeconds() + 10 })))).ok).toBe(true);
  });

  it('follows a configured skew', async () => {
    const a = authenticator({ providers: [{ name: 'main', issuer: ISSUER, audiences: [AUDIENCE], jwks: { keys: [key.publicJwk] }, clockSkewSeconds: 0 }] });
    expect(rejected(await a.authenticate('GET', '/', bearer(await signToken(key, { exp: nowSeconds() - 5 })))).reason).toBe('expired');
  });
});

describe('per-route rules', () => {
  it('lets a public path through without a token, still stripping claim headers the client set', async () => {
    const result = await authenticator().authenticate('GET', '/public/logo.png', { 'x-user-id': 'admin' });
    expect(result).toEqual({ ok: true, principal: undefined, forwardHeaders: [], removeHeaders: ['x-user-id', 'x-scope'] });
  });

  it('does not let a dot segment borrow the public rule', async () => {
    for (const target of ['/public/../admin', '/public/%2e%2e/admin', '/public/..\\admin', '//public/../admin?x=/public/']) {
      expect(rejected(await authenticator().authenticate('GET', target, {})).reason, target).toBe('missing');
    }
  });

  it('matches methods, and lets a request that matches no rule through (as Envoy jwt_authn)', async () => {
    const a = authenticator({ rules: [{ match: { pathPrefix: '/orders', methods: ['POST', 'DELETE'] }, require: ['main'] }] });
    expect(rejected(await a.authenticate('POST', '/orders', {})).reason).toBe('missing');
    expect((await a.authenticate('GET', '/orders', {})).ok).toBe(true);
    expect((await a.authenticate('POST', '/other', {})).ok).toBe(true);
  });

  it('requires a token everywhere when the policy has no rules', async () => {
    const a = authenticator({ rules: undefined });
    expect(rejected(await a.authenticate('GET', '/anything', {})).reason).toBe('missing');
  });

  it('accepts a token from any one of the required providers, each in its own header', async () => {
    const partner = await signingKey('p1', 'ES256');
    const a = authenticator({
      providers: [
        { name: 'main', issuer: ISSUER, audiences: [AUDIENCE], jwks: { keys: [key.publicJwk] } },
        { name: 'partner', issuer: 'https://partner.example', audiences: [AUDIENCE], jwks: { keys: [partner.publicJwk] }, fromHeader: { name: 'x-partner-token' }, forwardClaims: { sub: 'x-partner' } },
      ],
      rules: [{ match: {}, require: ['main', 'partner'] }],
    });
    const partnerToken = await signToken(partner, { iss: 'https://partner.example', sub: 'acme' });
    const result = await a.authenticate('GET', '/', { 'x-partner-token': partnerToken });
    expect(result.ok && result.principal?.provider).toBe('partner');
    expect(result.ok && result.forwardHeaders).toEqual([['x-partner', 'acme']]);
    expect(result.ok && result.removeHeaders).toEqual(['x-partner', 'x-partner-token']);
    // The main provider's failure on a forged token is the one reported, not the partner's missing header.
    expect(rejected(await a.authenticate('GET', '/', bearer(await signToken(otherKey)))).reason).toBe('signature');
  });
});
