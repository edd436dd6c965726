// Model: the JwtPolicy schema — the example, defaults, and a clear error with a path for each kind of mistake.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/index.js';
import { JWT_ALGORITHMS, JWT_POLICY_DEFAULTS, jwtPolicyWriteProblem, parseJwtPolicy } from '../../src/model/index.js';

const rsaKey = { kty: 'RSA', kid: 'k1', n: 'sXch', e: 'AQAB' };
const provider = { name: 'main', issuer: 'https://issuer.example', audiences: ['api'], jwks: { keys: [rsaKey] } };
const base = { kind: 'JwtPolicy', service: 'api', providers: [provider] };

/** What the API and `weft apply` answer a policy with: its schema, then the checks on writes. */
function errorOf(input: unknown): ValidationError {
  try {
    const problem = jwtPolicyWriteProblem(parseJwtPolicy(input));
    if (problem !== undefined) return new ValidationError(problem.field, problem.message);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('JwtPolicy', () => {
  it('accepts the issue example and fills in defaults', () => {
    const policy = parseJwtPolicy({
      ...base,
      providers: [{ ...provider, forwardClaims: { sub: 'x-user-id' } }],
      rules: [{ match: { pathPrefix: '/' }, require: ['main'] }],
    });
    const [main] = policy.providers;
    expect(main?.algorithms).toEqual([...JWT_ALGORITHMS]);
    expect(main?.clockSkewSeconds).toBe(30);
    expect(main?.fromHeader).toEqual({ name: 'authorization', prefix: 'Bearer ' });
    expect(main?.forwardToken).toBe(false);
    expect(policy.rules).toEqual([{ match: { pathPrefix: '/' }, require: ['main'] }]);
  });

  it('requires a token from any provider everywhere when rules are left out', () => {
    const policy = parseJwtPolicy({ ...base, providers: [provider, { ...provider, name: 'second' }] });
    expect(policy.rules).toEqual([{ match: { pathPrefix: '/', methods: undefined }, require: ['main', 'second'] }]);
  });

  it('fills in URL key set defaults', () => {
    const policy = parseJwtPolicy({ ...base, providers: [{ ...provider, jwks: { url: 'https://issuer.example/jwks.json' } }] });
    expect(policy.providers[0]?.jwks).toEqual({
      url: 'https://issuer.example/jwks.json',
      refreshSeconds: JWT_POLICY_DEFAULTS.jwks.refreshSeconds,
      unknownKidCooldownSeconds: JWT_POLICY_DEFAULTS.jwks.unknownKidCooldownSeconds,
      timeoutMs: JWT_POLICY_DEFAULTS.jwks.timeoutMs,
    });
  });

  it.each([
    ['a wrong kind', { ...base, kind: 'ServicePolicy' }, 'kind', 'expected "JwtPolicy"'],
    ['no providers', { ...base, providers: [] }, 'providers', 'at least one provider'],
    ['a repeated provider name', { ...base, providers: [provider, provider] }, 'providers[1].name', 'unique'],
    ['no audience', { ...base, providers: [{ ...provider, audiences: [] }] }, 'providers[0].audiences', 'at least one audience'],
    ['HS256', { ...base, providers: [{ ...provider, algorithms: ['HS256'] }] }, 'providers[0].algorithms[0]', 'HS* are never accepted'],
    ['alg none', { ...base, providers: [{ ...provider, algorithms: ['none'] }] }, 'providers[0].algorithms[0]', 'none'],
    ['an HMAC key', { ...base, providers: [{ ...provider, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }] }, 'providers[0].jwks.keys[0].kty', 'oct'],
    ['a private key', { ...base, providers: [{ ...provider, jwks: { keys: [{ ...rsaKey, d: 'AAAA' }] } }] }, 'providers[0].jwks.keys[0].d', 'public key'],
    ['an RSA key without n', { ...base, providers: [{ ...provider, jwks: { keys: [{ kty: 'RSA', e: 'AQAB' }] } }] }, 'providers[0].jwks.keys[0].n', 'member "n"'],
    ['both keys and url', { ...base, providers: [{ ...provider, jwks: { keys: [rsaKey], url: 'https://a.example/j' } }] }, 'providers[0].jwks', 'exactly one'],
    ['a plain http URL off loopback', { ...base, providers: [{ ...provider, jwks: { url: 'http://issuer.example/jwks' } }] }, 'providers[0].jwks.url', 'https://'],
    ['a plain http URL to a name that starts like loopback', { ...base, providers: [{ ...provider, jwks: { url: 'http://127.evil.example/jwks.json' } }] }, 'providers[0].jwks.url', '"127.evil.example" is not one'],
    ['a refresh option with inline keys', { ...base, providers: [{ ...provider, jwks: { keys: [rsaKey], refreshSeconds: 5 } }] }, 'providers[0].jwks.refreshSeconds', 'only with url'],
    ['a reserved forwarded header', { ...base, providers: [{ ...provider, forwardClaims: { sub: 'authorization' } }] }, 'providers[0].forwardClaims.sub', 'not reserved'],
    ['a weft header as forwarded header', { ...base, providers: [{ ...provider, forwardClaims: { sub: 'x-weft-source' } }] }, 'providers[0].forwardClaims.sub', 'not reserved'],
    ['an upper-case header', { ...base, providers: [{ ...provider, forwardClaims: { sub: 'X-User' } }] }, 'providers[0].forwardClaims.sub', 'lowercase'],
    ['a skew out of range', { ...base, providers: [{ ...provider, clockSkewSeconds: 3600 }] }, 'providers[0].clockSkewSeconds', 'from 0 to 300'],
    ['an unknown provider in a rule', { ...base, rules: [{ require: ['other'] }] }, 'rules[0].require[0]', 'got "other"'],
    ['a lower-case method', { ...base, rules: [{ match: { methods: ['get'] }, require: [] }] }, 'rules[0].match.methods[0]', 'uppercase'],
    ['an unknown field', { ...base, providers: [{ ...provider, fromQuery: 'token' }] }, 'providers[0].fromQuery', 'unknown field'],
  ])('refuses %s', (_name, input, field, message) => {
    const error = errorOf(input);
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });

  it('parses its own output again to the same policy, as storage and the watch stream need', () => {
    const once = parseJwtPolicy({ ...base, providers: [provider, { ...provider, name: 'remote', jwks: { url: 'https://issuer.example/jwks.json' }, fromHeader: { name: 'x-token' } }] });
    expect(parseJwtPolicy(JSON.parse(JSON.stringify(once)))).toEqual(once);
  });

  it.each(['http://127.0.0.1:8080/jwks', 'http://127.9.8.7/jwks', 'http://[::1]:8080/jwks', 'http://localhost:8080/jwks', 'http://0x7f.1/jwks', 'http://2130706433/jwks', 'https://127.evil.example/jwks', 'https://issuer.example/jwks'])(
    'accepts the JWKS URL %s (plain http only to loopback, https anywhere)',
    (url) => {
      expect(() => parseJwtPolicy({ ...base, providers: [{ ...provider, jwks: { url } }] })).not.toThrow();
    },
  );

  it.each(['http://128.0.0.1/jwks', 'http://[::2]/jwks', 'http://[::]/jwks', 'http://0.0.0.0/jwks', 'http://localhost./jwks', 'http://localhost.example/jwks', 'http://127.0.0.1.nip.io/jwks'])(
    'refuses plain http to %s, which is not a loopback address',
    (url) => {
      const error = errorOf({ ...base, providers: [{ ...provider, jwks: { url } }] });
      expect(error.field).toBe('providers[0].jwks.url');
      expect(error.message).toContain('plain http:// only to a loopback address');
    },
  );

  it('reads back a policy stored under the older rule (a plain-http name starting with "127."), so that its service still needs tokens', () => {
    const policy = parseJwtPolicy({ ...base, providers: [{ ...provider, jwks: { url: 'http://127.0.0.1.nip.io/jwks' } }] });
    expect(policy.providers[0]!.jwks).toMatchObject({ url: 'http://127.0.0.1.nip.io/jwks' });
    expect(jwtPolicyWriteProblem(policy)?.field).toBe('providers[0].jwks.url');
  });
});
