// Security/JWT: where a provider's verification keys come from — a set written in the policy, or one fetched from a URL.
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

/** Hands jose the key for a token's header; `close` stops any background work. */
export interface JwtKeySource {
  readonly resolve: JWTVerifyGetKey;
  close(): void;
}

/** No fetched key set yet (the JWKS endpoint has not answered since start); distinct from a key the set lacks. */
export class JwksUnavailableError extends Error {
  constructor(why: string) {
    super(`no verification keys available: ${why}`);
    this.name = 'JwksUnavailableError';
  }
}

/** Keys written into the policy: imported lazily by jose, never refreshed. */
export function inlineKeySource(jwks: JSONWebKeySet): JwtKeySource {
  return { resolve: createLocalJWKSet(jwks), close: () => undefined };
}
