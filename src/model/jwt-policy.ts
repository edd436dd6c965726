// Model: a service's JWT authentication policy (token providers, their keys and which routes need which provider), its strict schema and defaults.
import { z } from 'zod';
import { SERVICE_NAME } from './instance.js';
import { isLoopbackAddress, printable } from './net-values.js';
import { parseOrThrow } from './validate.js';

export const JWT_POLICY_KIND = 'JwtPolicy';

/**
 * Signature algorithms a provider may allow. Only asymmetric ones: `none` is never accepted, and HMAC (HS*) is left
 * out on purpose so that a public key can never be used as an HMAC secret (the algorithm confusion attack).
 */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export const JWT_POLICY_DEFAULTS = {
  clockSkewSeconds: 30,
  /** Where a provider's token is read from when `fromHeader` is left out (RFC 6750 section 2.1). */
  fromHeader: { name: 'authorization', prefix: 'Bearer ' },
  /** A token header given without a prefix carries the bare token. */
  fromHeaderPrefix: '',
  /** As Envoy and Istio: the verified token is removed before the request reaches the app unless asked for. */
  forwardToken: false,
  jwks: {
    /** Used when the JWKS reply carries no Cache-Control max-age; a max-age is clamped to [minRefreshSeconds, maxRefreshSeconds]. */
    refreshSeconds: 300,
    minRefreshSeconds: 30,
    maxRefreshSeconds: 86_400,
    /** At most one re-fetch per this many seconds for tokens naming a key the cached set does not hold. */
    unknownKidCooldownSeconds: 30,
    timeoutMs: 5_000,
    maxBytes: 1_048_576,
  },
  rule: { pathPrefix: '/' },
} as const;

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
const METHOD = /^[A-Z]{1,32}$/;
/** Claims are top-level JWT claim names; nested paths are not supported. */
const CLAIM_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Headers a forwarded claim must never overwrite: message framing, routing, hop-by-hop and weft's own. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-authorization', 'proxy-authenticate', 'authorization', 'cookie', 'set-cookie']);
/** JWK members that only private or symmetric keys carry: a policy holds public keys only. */
const SECRET_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

const whole = (min: number, max: number, unit = '') => {
  const message = `expected a whole number${unit} from ${min} to ${max}`;
  return z.number({ error: message }).int(message).min(min, message).max(max, message);
};
const nonEmpty = (what: string, max: number) =>
  z.string({ error: `expected ${what}` }).min(1, `expected ${what}`).max(max, `expected ${what} of at most ${max} characters`);
const headerName = z.string({ error: 'expected a lowercase HTTP header name' }).regex(HEADER_NAME, 'expected a lowercase HTTP header name');
const forwardHeaderName = headerName
  .refine((name) => !RESERVED_HEADERS.has(name) && !name.startsWith('x-weft-'), 'expected a header name that is not reserved (host, authorization, framing, hop-by-hop or x-weft-*)');

/** A public JWK: structure checked here, the key material itself when it is imported. */
const publicJwkSchema = z
  .looseObject({
    kty: z.enum(['RSA', 'EC', 'OKP'], { error: 'expected kty RSA, EC or OKP (public signing keys only; HMAC "oct" keys are not accepted)' }),
    kid: z.string({ error: 'expected a key id string' }).max(256).optional(),
    alg: z.string({ error: 'expected an algorithm name' }).optional(),
    use: z.string({ error: 'expected "sig"' }).optional(),
  })
  .superRefine((jwk, ctx) => {
    for (const member of SECRET_JWK_MEMBERS) {
      if (member in jwk) ctx.addIssue({ code: 'custom', path: [member], message: 'expected a public key: private key members must not appear in a policy' });
    }
    const needed = jwk.kty === 'RSA' ? ['n', 'e'] : jwk.kty === 'EC' ? ['crv', 'x', 'y'] : ['crv', 'x'];
    for (const member of needed) {
      if (typeof (jwk as Record<string, unknown>)[member] !== 'string') ctx.addIssue({ code: 'custom', path: [member], message: `expected the ${jwk.kty} key member "${member}" as a base64url string` });
    }
  });

export type PublicJwk = z.output<typeof publicJwkSchema>;
/** Keys written into the policy. */
export interface InlineJwks {
  readonly keys: readonly PublicJwk[];
}
/** Keys fetched from `url`, cached and refreshed. */
export interface RemoteJwks {
  readonly url: string;
  readonly refreshSeconds: number;
  readonly unknownKidCooldownSeconds: number;
  readonly timeoutMs: number;
}

/**
 * The one name a plain http:// JWKS URL may use besides a loopback IP literal. Refusing it would silently drop
 * policies already stored with it (a policy that fails to parse is skipped, and its service then needs no token),
 * so it stays, but its meaning is fixed: fetchJwks connects to 127.0.0.1 or ::1 and never asks a resolver, whose
 * answer (hosts file, DNS, a search domain) could point a plain-text fetch of the keys off the machine.
 */
export const JWKS_LOOPBACK_NAME = 'localhost';

/**
 * Why `text` cannot be a JWKS URL, or undefined when it can: https:// anywhere, plain http:// only to a loopback IP
 * literal (127.0.0.0/8, ::1) or `localhost`, never with credentials. Policy validation and every fetch use this one
 * check, so that a key set is never fetched from a URL a policy could not hold.
 */
export function jwksUrlProblem(text: string): string | undefined {
  const url = parsedJwksUrl(text);
  if (typeof url === 'string') return url;
  // The parsed hostname, not the text: "127.evil.example" is a name under .example, while "0x7f.1" and "2130706433" parse to 127.0.0.1.
  const loopback = isLoopbackAddress(url.hostname) || url.hostname === JWKS_LOOPBACK_NAME;
  if (url.protocol === 'http:' && !loopback) {
    return `expected an https:// URL (plain http:// only to a loopback address: 127.0.0.0/8, [::1] or localhost; "${printable(url.hostname)}" is not one)`;
  }
  return undefined;
}

/** The URL, or what keeps `text` from being an http(s) URL without credentials at all. */
function parsedJwksUrl(text: string): URL | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `expected a JWKS URL such as https://issuer.example/.well-known/jwks.json, got "${printable(text)}"`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'expected an https:// URL (plain http:// only to a loopback address: 127.0.0.0/8, [::1] or localhost)';
  if (url.username || url.password) return 'expected a URL without credentials';
  return url;
}

/**
 * The schema takes any http(s) URL, so that a policy stored under an older, looser rule (a plain-http name starting
 * with "127.") still reads back: were it skipped, its service would need no token at all. Such a URL is never
 * fetched (fetchJwks checks jwksUrlProblem, so its tokens are refused), and the API no longer stores one
 * (jwtPolicyWriteProblem).
 */
const jwksUrl = z.string({ error: 'expected a JWKS URL' }).superRefine((text, ctx) => {
  const url = parsedJwksUrl(text);
  if (typeof url === 'string') ctx.addIssue({ code: 'custom', message: url });
});

/** One object with either inline `keys` or a `url`, so that errors point into whichever the user wrote. */
const jwksSchema = z
  .strictObject(
    {
      keys: z.array(publicJwkSchema, { error: 'expected a list of JWKs' }).min(1, 'expected at least one key').max(64, 'expected at most 64 keys').optional(),
      url: jwksUrl.optional(),
      refreshSeconds: whole(1, 86_400, ' of seconds').optional(),
      unknownKidCooldownSeconds: whole(1, 3_600, ' of seconds').optional(),
      timeoutMs: whole(100, 60_000, ' of milliseconds').optional(),
    },
    { error: 'expected { keys: [ ...public JWKs ] } or { url: https://... }' },
  )
  .superRefine((jwks, ctx) => {
    if ((jwks.keys === undefined) === (jwks.url === undefined)) ctx.addIssue({ code: 'custom', message: 'expected exactly one of keys: [ ...public JWKs ] or url: https://...' });
    if (jwks.keys !== undefined) {
      for (const option of ['refreshSeconds', 'unknownKidCooldownSeconds', 'timeoutMs'] as const) {
        if (jwks[option] !== undefined) ctx.addIssue({ code: 'custom', path: [option], message: 'expected only with url' });
      }
    }
  })
  .transform((jwks): InlineJwks | RemoteJwks =>
    jwks.keys !== undefined
      ? { keys: jwks.keys }
      : {
          url: jwks.url ?? '',
          refreshSeconds: jwks.refreshSeconds ?? JWT_POLICY_DEFAULTS.jwks.refreshSeconds,
          unknownKidCooldownSeconds: jwks.unknownKidCooldownSeconds ?? JWT_POLICY_DEFAULTS.jwks.unknownKidCooldownSeconds,
          timeoutMs: jwks.timeoutMs ?? JWT_POLICY_DEFAULTS.jwks.timeoutMs,
        },
  );

const providerSchema = z.strictObject({
  name: z.string({ error: 'expected a provider name' }).regex(SERVICE_NAME, 'expected a provider name: lowercase letters, digits and "-", 1-63 characters'),
  issuer: nonEmpty('the issuer ("iss") tokens must carry', 1024),
  audiences: z.array(nonEmpty('an audience', 1024), { error: 'expected a list of accepted audiences' }).min(1, 'expected at least one audience').max(32, 'expected at most 32 audiences'),
  jwks: jwksSchema,
  algorithms: z
    .array(z.enum(JWT_ALGORITHMS, { error: `expected one of: ${JWT_ALGORITHMS.join(', ')} (none and HS* are never accepted)` }), { error: 'expected a list of algorithms' })
    .min(1, 'expected at least one algorithm')
    .default(() => [...JWT_ALGORITHMS]),
  clockSkewSeconds: whole(0, 300, ' of seconds').default(JWT_POLICY_DEFAULTS.clockSkewSeconds),
  fromHeader: z
    .strictObject({
      name: headerName,
      prefix: z.string({ error: 'expected a prefix such as "Bearer "' }).max(64).default(JWT_POLICY_DEFAULTS.fromHeaderPrefix),
    })
    .default(() => ({ ...JWT_POLICY_DEFAULTS.fromHeader })),
  /** Claim name → header the claim's value is sent to the app in. */
  forwardClaims: z
    .record(z.string().regex(CLAIM_NAME, 'expected a top-level claim name'), forwardHeaderName, {
      error: (issue) => (issue.code === 'invalid_key' ? 'expected a top-level claim name' : 'expected a map of claim names to header names'),
    })
    .default({}),
  forwardToken: z.boolean({ error: 'expected true or false' }).default(JWT_POLICY_DEFAULTS.forwardToken),
});

const ruleSchema = z.strictObject({
  match: z
    .strictObject({
      pathPrefix: z.string({ error: 'expected a path starting with "/"' }).startsWith('/', 'expected a path starting with "/"').max(1024).default(JWT_POLICY_DEFAULTS.rule.pathPrefix),
      /** Absent: every method. */
      methods: z.array(z.string({ error: 'expected an uppercase HTTP method' }).regex(METHOD, 'expected an uppercase HTTP method'), { error: 'expected a list of methods' }).min(1, 'expected at least one method').optional(),
    })
    .prefault({}),
  /** Any one of these providers suffices; an empty list lets the route through without a token. */
  require: z.array(z.string({ error: 'expected a provider name' }), { error: 'expected a list of provider names' }).max(16, 'expected at most 16 providers'),
});

export const jwtPolicySchema = z
  .strictObject({
    kind: z.literal(JWT_POLICY_KIND, { error: `expected "${JWT_POLICY_KIND}"` }),
    service: z.string({ error: 'expected a service name' }).regex(SERVICE_NAME, 'expected a DNS label: lowercase letters, digits and "-", 1-63 characters'),
    providers: z.array(providerSchema, { error: 'expected a list of providers' }).min(1, 'expected at least one provider').max(16, 'expected at most 16 providers'),
    /** First match wins. Left out: every request needs a token from any provider. A request matching no rule needs none. */
    rules: z.array(ruleSchema, { error: 'expected a list of rules' }).max(64, 'expected at most 64 rules').optional(),
  })
  .superRefine((policy, ctx) => {
    const names = new Set<string>();
    policy.providers.forEach((provider, i) => {
      if (names.has(provider.name)) ctx.addIssue({ code: 'custom', path: ['providers', i, 'name'], message: `expected a unique provider name ("${provider.name}" is repeated)` });
      names.add(provider.name);
    });
    policy.rules?.forEach((rule, i) =>
      rule.require.forEach((name, j) => {
        if (!names.has(name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'require', j], message: `expected the name of a provider of this policy, got "${name}"` });
      }),
    );
  })
  .transform((policy) => ({
    ...policy,
    rules: policy.rules ?? [{ match: { pathPrefix: JWT_POLICY_DEFAULTS.rule.pathPrefix, methods: undefined }, require: policy.providers.map((p) => p.name) }],
  }));

/** What a user writes. */
export type JwtPolicyInput = z.input<typeof jwtPolicySchema>;
/** A validated policy with every default filled in. */
export type JwtPolicy = z.output<typeof jwtPolicySchema>;
export type JwtProviderPolicy = JwtPolicy['providers'][number];
export type JwtRulePolicy = JwtPolicy['rules'][number];
export type JwksPolicy = InlineJwks | RemoteJwks;

/** Validates and defaults a JWT policy; a ValidationError names the first offending field path. */
export function parseJwtPolicy(input: unknown): JwtPolicy {
  return parseOrThrow(jwtPolicySchema, input);
}

/** What a write of `policy` must be refused for beyond its schema: a JWKS URL only an older version accepted. */
export function jwtPolicyWriteProblem(policy: JwtPolicy): { field: string; message: string } | undefined {
  for (const [i, provider] of policy.providers.entries()) {
    if (!('url' in provider.jwks)) continue;
    const problem = jwksUrlProblem(provider.jwks.url);
    if (problem !== undefined) return { field: `providers[${i}].jwks.url`, message: problem };
  }
  return undefined;
}
