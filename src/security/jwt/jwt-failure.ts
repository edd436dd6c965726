// Security/JWT: why a token was refused — a small fixed set of reasons for logs and metrics, each with the text a client may see.
import { errors } from 'jose';
import { JwksUnavailableError } from './key-source.js';

export type JwtFailureReason =
  | 'missing'
  | 'malformed'
  | 'algorithm'
  | 'signature'
  | 'unknown-key'
  | 'keys-unavailable'
  | 'expired'
  | 'not-yet-valid'
  | 'audience'
  | 'issuer'
  | 'claims';

export interface JwtFailureCause {
  readonly reason: JwtFailureReason;
  /** For logs: what was wrong, without the token or claim values taken from it. */
  readonly detail: string;
}

/** Fixed texts for error_description: nothing from the token is echoed back to the client. */
export const CLIENT_DESCRIPTION: Readonly<Record<Exclude<JwtFailureReason, 'missing'>, string>> = {
  malformed: 'the token is malformed',
  algorithm: 'the token is signed with an algorithm that is not accepted',
  signature: 'the token signature is invalid',
  'unknown-key': 'the token is signed with an unknown key',
  'keys-unavailable': 'the token cannot be verified now',
  expired: 'the token has expired',
  'not-yet-valid': 'the token is not valid yet',
  audience: 'the token is not meant for this service',
  issuer: 'the token issuer is not accepted',
  claims: 'the token claims are invalid',
};

/** Maps what jose (or a key source) threw to a reason; anything unrecognized is a malformed token. */
export function failureOf(error: unknown): JwtFailureCause {
  if (error instanceof JwksUnavailableError) return { reason: 'keys-unavailable', detail: error.message };
  if (error instanceof errors.JWTExpired) return { reason: 'expired', detail: 'exp is in the past beyond the clock skew' };
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return { reason: 'not-yet-valid', detail: `${error.claim} is in the future beyond the clock skew` };
    if (error.claim === 'aud') return { reason: 'audience', detail: 'aud names none of the accepted audiences' };
    if (error.claim === 'iss') return { reason: 'issuer', detail: 'iss is not the provider issuer' };
    return { reason: 'claims', detail: `claim ${error.claim}: ${error.reason}` };
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return { reason: 'algorithm', detail: 'alg is not in the allow-list' };
  if (error instanceof errors.JWSSignatureVerificationFailed) return { reason: 'signature', detail: 'signature verification failed' };
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return { reason: 'unknown-key', detail: 'no key of the set matches kid and alg' };
  if (error instanceof errors.JOSEError) return { reason: 'malformed', detail: `${error.code}: ${error.message}` };
  return { reason: 'malformed', detail: error instanceof Error ? error.message : String(error) };
}
