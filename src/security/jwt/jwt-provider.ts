// Security/JWT: one provider compiled from its policy — verifies a token against its issuer, audiences, algorithms and keys, and turns claims into headers.
import { jwtVerify, type JWTPayload } from 'jose';
import type { JwtAlgorithm, JwtProviderPolicy } from '../../model/index.js';
import { failureOf, type JwtFailureCause } from './jwt-failure.js';
import type { JwtKeySource } from './key-source.js';
import type { TokenLocation } from './token-location.js';

/** Who a verified token says the caller is. */
export interface JwtPrincipal {
  readonly provider: string;
  readonly issuer: string;
  readonly subject: string | undefined;
  /** The verified claims set. */
  readonly claims: Readonly<JWTPayload>;
}

export type ForwardHeader = readonly [name: string, value: string];

export type ProviderVerdict = { readonly ok: true; readonly principal: JwtPrincipal } | ({ readonly ok: false } & JwtFailureCause);

/** Visible ASCII, space and tab: what an HTTP field value may safely carry without encoding. */
const SAFE_HEADER_VALUE = /^[\t\x20-\x7e]{0,8192}$/;

export class JwtProvider {
  readonly name: string;
  readonly issuer: string;
  readonly location: TokenLocation;
  /** Headers to remove when this provider accepts a request: the token's own header unless it is forwarded. */
  readonly consumedHeaders: readonly string[];
  private readonly claimHeaders: readonly (readonly [claim: string, header: string])[];
  private readonly verifyOptions: { issuer: string; audience: string[]; algorithms: JwtAlgorithm[]; clockTolerance: number; requiredClaims: string[]; currentDate?: Date };

  constructor(
    policy: JwtProviderPolicy,
    private readonly keys: JwtKeySource,
    private readonly wallClock?: () => number,
  ) {
    this.name = policy.name;
    this.issuer = policy.issuer;
    this.location = { header: policy.fromHeader.name, prefix: policy.fromHeader.prefix };
    this.consumedHeaders = policy.forwardToken ? [] : [policy.fromHeader.name];
    this.claimHeaders = Object.entries(policy.forwardClaims);
    // exp is required: a token that never expires cannot be taken back.
    this.verifyOptions = { issuer: policy.issuer, audience: [...policy.audiences], algorithms: [...policy.algorithms], clockTolerance: policy.clockSkewSeconds, requiredClaims: ['exp'] };
  }

  async verify(token: string): Promise<ProviderVerdict> {
    try {
      const options = this.wallClock ? { ...this.verifyOptions, currentDate: new Date(this.wallClock()) } : this.verifyOptions;
      const { payload } = await jwtVerify(token, this.keys.resolve, options);
      return { ok: true, principal: { provider: this.name, issuer: this.issuer, subject: payload.sub, claims: payload } };
    } catch (error) {
      return { ok: false, ...failureOf(error) };
    }
  }

  /** The configured claims as [header, value]; a claim that is absent, an object, or not header-safe is left out. */
  forwardHeaders(claims: Readonly<JWTPayload>): ForwardHeader[] {
    const out: ForwardHeader[] = [];
    for (const [claim, header] of this.claimHeaders) {
      const value = headerValue(claims[claim]);
      if (value !== undefined) out.push([header, value]);
    }
    return out;
  }

  close(): void {
    this.keys.close();
  }
}

function headerValue(value: unknown): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) text = value.join(',');
  else return undefined;
  return SAFE_HEADER_VALUE.test(text) ? text : undefined;
}
