// Security/JWT: JWT authentication of inbound requests by JwtPolicy, with keys inline or from a cached, refreshed JWKS URL.
export { compileJwtPolicy, REMOTE_JWKS_LIMITS, type JwtAccepted, type JwtAuthenticator, type JwtAuthenticatorOptions, type JwtAuthResult, type JwtRejected, type RemoteJwksLimits, unauthenticatedError } from './jwt-authenticator.js';
export type { ForwardHeader, JwtPrincipal } from './jwt-provider.js';
export type { JwtFailureReason } from './jwt-failure.js';
export { RemoteJwks, type JwksEvent, type JwksFetchTrigger, type RemoteJwksOptions } from './remote-jwks.js';
export { JwksFetchError, fetchJwks, type FetchedJwks, type JwksFetchLimits } from './jwks-fetch.js';
export { JwksUnavailableError, inlineKeySource, type JwtKeySource } from './key-source.js';
export { bearerChallenge } from './bearer-challenge.js';
export { canonicalRequestPath } from './request-path.js';
export { extractToken, type RequestHeaders, type TokenLocation } from './token-location.js';
export { cacheControlMaxAge, refreshDelayMs } from './cache-control.js';
