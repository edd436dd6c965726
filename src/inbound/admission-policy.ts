// Inbound: whether a request may reach the app — the service's JwtPolicy, AuthorizationPolicy and rate limits, recompiled on each snapshot that changes them.
import { ForbiddenError, RateLimitedError, type Clock, type WeftError } from '../core/index.js';
import type { AuthorizationPolicy, JwtPolicy, RateLimitPolicy, Snapshot, SnapshotSource } from '../model/index.js';
import { ALLOW_ALL, compileAuthorization, peerKey, type Authorizer, type PeerIdentity } from '../security/authz/index.js';
import { compileJwtPolicy, type JwtAuthenticator, type JwtAuthenticatorOptions } from '../security/jwt/index.js';
import { compileRateLimits, NO_LIMIT, type RateLimiter } from '../security/rate-limit/index.js';

export interface InboundAdmissionOptions {
  /** The service the sidecar fronts: its policies are the ones enforced. */
  readonly service: string;
  readonly snapshots: SnapshotSource;
  readonly clock: Clock;
  /** How JwtPolicy authenticators are built (wall clock, JWKS limits, JWKS event sink); the monotonic clock is `clock`. */
  readonly jwt?: Omit<JwtAuthenticatorOptions, 'clock'>;
}

/**
 * The checks run in Envoy's order: JWT authentication (the async step, taken only while a JwtPolicy exists:
 * `authenticator()`), then `check()` for authorization and rate limits.
 */
export class InboundAdmission {
  private authorizer: Authorizer = ALLOW_ALL;
  private limiter: RateLimiter = NO_LIMIT;
  private authorization: AuthorizationPolicy | undefined;
  private jwtPolicy: JwtPolicy | undefined;
  /** The JwtPolicy's JSON: a policy that comes back equal (a watch reset) keeps its authenticator and JWKS cache. */
  private jwtPolicyJson = '';
  private jwt: JwtAuthenticator | null = null;
  /** The limits' JSON, so that an unrelated ServicePolicy change keeps the buckets' state. */
  private limitsJson = '';
  private readonly forbidden: ForbiddenError;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: InboundAdmissionOptions) {
    // One error object for every denial: a flood of refused requests builds no stack traces.
    this.forbidden = new ForbiddenError(options.service);
    this.update(options.snapshots.current());
    this.unsubscribe = options.snapshots.subscribe((snapshot) => this.update(snapshot));
  }

  /** The service's JWT authenticator; null while it has no JwtPolicy, so that the request path stays synchronous. */
  authenticator(): JwtAuthenticator | null {
    return this.jwt;
  }

  /** null: the request may go on. A rejection is FORBIDDEN (checked first, so a refused caller spends no token) or RATE_LIMITED. */
  check(peer: PeerIdentity, method: string, path: string, headers: readonly string[]): WeftError | null {
    if (!this.authorizer.allows(peer, method, path, headers)) return this.forbidden;
    const waitMs = this.limiter.admit(path, peerKey(peer));
    if (waitMs === 0) return null;
    return new RateLimitedError(this.options.service, Math.max(1, Math.ceil(waitMs / 1000)));
  }

  /** Stops following snapshots and the JWKS refreshes of the current authenticator. */
  close(): void {
    this.unsubscribe();
    this.replaceAuthenticator(undefined, '');
  }

  private update(snapshot: Snapshot): void {
    const authorization = snapshot.kindPolicies.AuthorizationPolicy.get(this.options.service);
    if (authorization !== this.authorization) {
      this.authorization = authorization;
      this.authorizer = authorization === undefined ? ALLOW_ALL : compileAuthorization(authorization);
    }
    const jwtPolicy = snapshot.kindPolicies.JwtPolicy.get(this.options.service);
    if (jwtPolicy !== this.jwtPolicy) {
      this.jwtPolicy = jwtPolicy;
      const json = jwtPolicy === undefined ? '' : JSON.stringify(jwtPolicy);
      if (json !== this.jwtPolicyJson) this.replaceAuthenticator(jwtPolicy, json);
    }
    const limits: readonly RateLimitPolicy[] | undefined = snapshot.policies.get(this.options.service)?.rateLimits;
    const limitsJson = limits === undefined || limits.length === 0 ? '' : JSON.stringify(limits);
    if (limitsJson !== this.limitsJson) {
      this.limitsJson = limitsJson;
      this.limiter = compileRateLimits(limits, this.options.clock);
    }
  }

  private replaceAuthenticator(policy: JwtPolicy | undefined, json: string): void {
    // The old one's JWKS timers stop; requests already verifying with it finish against its cached keys.
    this.jwt?.close();
    this.jwtPolicyJson = json;
    this.jwt = policy === undefined ? null : compileJwtPolicy(policy, { ...this.options.jwt, clock: this.options.clock });
  }
}
