// Security/JWT: a JwtPolicy compiled into an authenticator — finds the route's requirement, reads and verifies the token, and says what to forward or how to refuse.
import { decodeJwt } from 'jose';
import { systemClock, UnauthenticatedError, type Clock } from '../../core/index.js';
import { JWT_POLICY_DEFAULTS, type JwtPolicy, type JwtProviderPolicy } from '../../model/index.js';
import { bearerChallenge } from './bearer-challenge.js';
import { CLIENT_DESCRIPTION, type JwtFailureCause, type JwtFailureReason } from './jwt-failure.js';
import { JwtProvider, type ForwardHeader, type JwtPrincipal } from './jwt-provider.js';
import { JwtRuleTable } from './jwt-rules.js';
import { inlineKeySource, type JwtKeySource } from './key-source.js';
import { RemoteJwks, type JwksEvent } from './remote-jwks.js';
import { canonicalRequestPath } from './request-path.js';
import { extractToken, type RequestHeaders } from './token-location.js';

/**
 * The request may go on. Before forwarding it, remove `removeHeaders` (every forwarded-claim header a client may
 * have set itself, and the verified token unless its provider forwards it), then add `forwardHeaders`.
 * `principal` is undefined when the route required no token.
 */
export interface JwtAccepted {
  readonly ok: true;
  readonly principal: JwtPrincipal | undefined;
  readonly forwardHeaders: readonly ForwardHeader[];
  readonly removeHeaders: readonly string[];
}

/** Answer 401 with `WWW-Authenticate: wwwAuthenticate`; log `reason` and `detail` (they never hold the token). */
export interface JwtRejected {
  readonly ok: false;
  readonly status: 401;
  readonly code: 'UNAUTHENTICATED';
  readonly wwwAuthenticate: string;
  readonly reason: JwtFailureReason;
  readonly detail: string;
  /** The provider whose check failed last, when a token reached one. */
  readonly provider: string | undefined;
}

export type JwtAuthResult = JwtAccepted | JwtRejected;

export interface JwtAuthenticator {
  readonly service: string;
  /** Every forwarded-claim header of the policy: never trusted from the client. */
  readonly claimHeaders: readonly string[];
  /** `target` is the request target as received (path and query); `method` in upper case as Node gives it. */
  authenticate(method: string, target: string, headers: RequestHeaders): Promise<JwtAuthResult>;
  /** Stops background JWKS refreshes. */
  close(): void;
}

export interface JwtAuthenticatorOptions {
  /** Monotonic time for JWKS refresh and rate limits. */
  readonly clock?: Clock;
  /** Epoch milliseconds that exp and nbf are checked against; the system time by default. */
  readonly wallClock?: () => number;
  /** JWKS fetch limits and refresh bounds not set per policy. */
  readonly jwks?: Partial<RemoteJwksLimits>;
  readonly onJwksEvent?: (event: JwksEvent) => void;
}

export interface RemoteJwksLimits {
  readonly minRefreshMs: number;
  readonly maxRefreshMs: number;
  readonly retryMs: number;
  readonly maxBytes: number;
  readonly maxKeys: number;
}

export const REMOTE_JWKS_LIMITS: RemoteJwksLimits = {
  minRefreshMs: JWT_POLICY_DEFAULTS.jwks.minRefreshSeconds * 1000,
  maxRefreshMs: JWT_POLICY_DEFAULTS.jwks.maxRefreshSeconds * 1000,
  retryMs: 5_000,
  maxBytes: JWT_POLICY_DEFAULTS.jwks.maxBytes,
  maxKeys: 100,
};

/** The rejection as the error a server's rescue turns into 401 + WWW-Authenticate; its message holds the reason, never the token. */
export function unauthenticatedError(rejected: JwtRejected): UnauthenticatedError {
  return new UnauthenticatedError(`${rejected.reason} (${rejected.detail})`, rejected.wwwAuthenticate);
}

/** Compiles a validated policy once; URL key sets start fetching at once. Call `close` when the policy is replaced. */
export function compileJwtPolicy(policy: JwtPolicy, options: JwtAuthenticatorOptions = {}): JwtAuthenticator {
  return new CompiledJwtAuthenticator(policy, options);
}

type Attempt = { readonly ok: true; readonly accepted: JwtAccepted } | { readonly ok: false; readonly failure: JwtFailureCause; readonly decisive: boolean };

class CompiledJwtAuthenticator implements JwtAuthenticator {
  readonly service: string;
  readonly claimHeaders: readonly string[];
  private readonly providers: readonly JwtProvider[];
  private readonly rules: JwtRuleTable<JwtProvider>;
  private readonly removalsOnAccept: ReadonlyMap<JwtProvider, readonly string[]>;
  private readonly passThrough: JwtAccepted;
  private readonly challenges: ReadonlyMap<JwtFailureReason, string>;

  constructor(policy: JwtPolicy, options: JwtAuthenticatorOptions) {
    this.service = policy.service;
    this.providers = policy.providers.map((p) => new JwtProvider(p, keySourceFor(p, options), options.wallClock));
    const byName = new Map(this.providers.map((p) => [p.name, p]));
    this.rules = new JwtRuleTable(policy.rules, (name) => {
      const provider = byName.get(name);
      if (!provider) throw new Error(`JwtPolicy for ${policy.service}: rule requires unknown provider ${name}`);
      return provider;
    });
    this.claimHeaders = [...new Set(policy.providers.flatMap((p) => Object.values(p.forwardClaims)))];
    this.removalsOnAccept = new Map(this.providers.map((p) => [p, [...new Set([...this.claimHeaders, ...p.consumedHeaders])]]));
    this.passThrough = { ok: true, principal: undefined, forwardHeaders: [], removeHeaders: this.claimHeaders };
    const challenges = new Map<JwtFailureReason, string>([['missing', bearerChallenge(policy.service)]]);
    for (const [reason, description] of Object.entries(CLIENT_DESCRIPTION)) challenges.set(reason as JwtFailureReason, bearerChallenge(policy.service, description));
    this.challenges = challenges;
  }

  async authenticate(method: string, target: string, headers: RequestHeaders): Promise<JwtAuthResult> {
    const required = this.rules.requirement(method, canonicalRequestPath(target));
    if (required === undefined || required.length === 0) return this.passThrough;
    let failure: JwtFailureCause | undefined;
    let failedProvider: string | undefined;
    let decisive = false;
    for (const provider of required) {
      const attempt = await this.attempt(provider, headers);
      if (attempt === undefined) continue;
      if (attempt.ok) return attempt.accepted;
      // A provider that verified the token (its issuer) says more than one whose issuer or header did not fit.
      if (!decisive || attempt.decisive) {
        failure = attempt.failure;
        failedProvider = provider.name;
        decisive = attempt.decisive;
      }
    }
    if (failure === undefined) return this.reject({ reason: 'missing', detail: 'no token in the request' }, undefined);
    return this.reject(failure, failedProvider);
  }

  close(): void {
    for (const provider of this.providers) provider.close();
  }

  /** Undefined when the request carries no token where this provider looks. */
  private async attempt(provider: JwtProvider, headers: RequestHeaders): Promise<Attempt | undefined> {
    const extracted = extractToken(provider.location, headers);
    if (extracted.kind === 'absent') return undefined;
    if (extracted.kind === 'malformed') return { ok: false, failure: { reason: 'malformed', detail: extracted.why }, decisive: false };
    let issuer: unknown;
    try {
      issuer = decodeJwt(extracted.token).iss;
    } catch {
      return { ok: false, failure: { reason: 'malformed', detail: 'the token payload is not a JSON claims set' }, decisive: false };
    }
    if (issuer !== provider.issuer) return { ok: false, failure: { reason: 'issuer', detail: `iss is not ${provider.issuer}` }, decisive: false };
    const verdict = await provider.verify(extracted.token);
    if (!verdict.ok) return { ok: false, failure: verdict, decisive: true };
    const removeHeaders = this.removalsOnAccept.get(provider) ?? this.claimHeaders;
    return { ok: true, accepted: { ok: true, principal: verdict.principal, forwardHeaders: provider.forwardHeaders(verdict.principal.claims), removeHeaders } };
  }

  private reject(failure: JwtFailureCause, provider: string | undefined): JwtRejected {
    const wwwAuthenticate = this.challenges.get(failure.reason) ?? bearerChallenge(this.service, 'the token is invalid');
    return { ok: false, status: 401, code: 'UNAUTHENTICATED', wwwAuthenticate, reason: failure.reason, detail: failure.detail, provider };
  }
}

function keySourceFor(provider: JwtProviderPolicy, options: JwtAuthenticatorOptions): JwtKeySource {
  const { jwks } = provider;
  if ('keys' in jwks) return inlineKeySource({ keys: jwks.keys.map((key) => ({ ...key })) });
  const limits = { ...REMOTE_JWKS_LIMITS, ...options.jwks };
  const remote = new RemoteJwks({
    url: jwks.url,
    refreshMs: jwks.refreshSeconds * 1000,
    unknownKidCooldownMs: jwks.unknownKidCooldownSeconds * 1000,
    timeoutMs: jwks.timeoutMs,
    ...limits,
    clock: options.clock ?? systemClock,
    onEvent: options.onJwksEvent,
  });
  remote.start();
  return remote;
}
