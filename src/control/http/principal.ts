// Control HTTP: who is calling — the principal every route handler is given, and the checks routes make on it.
import { WeftError } from '../../core/index.js';

/**
 * The caller of one control-plane request, as proven by its credentials:
 * - `admin`: an admin token, or any caller of a control plane whose API authentication is off (`--dev`);
 * - `service`: a caller that may act for one service only — a join token for it, or a sidecar's certificate;
 * - `anonymous`: no credentials (or none needed: open read-only endpoints).
 */
export type Principal =
  | { readonly kind: 'admin'; readonly via: 'token' | 'auth-disabled'; readonly tokenId?: string }
  | { readonly kind: 'service'; readonly service: string; readonly via: 'join-token' | 'certificate'; readonly tokenId?: string; readonly spiffeId?: string }
  | { readonly kind: 'anonymous' };

export const AUTH_DISABLED_PRINCIPAL: Principal = Object.freeze({ kind: 'admin', via: 'auth-disabled' });
export const ANONYMOUS_PRINCIPAL: Principal = Object.freeze({ kind: 'anonymous' });

/** The realm named in the control plane's `WWW-Authenticate` challenges. */
export const CONTROL_AUTH_REALM = 'weft';

export class ApiUnauthenticatedError extends WeftError {
  constructor(reason: string) {
    super('UNAUTHENTICATED', `unauthenticated: ${reason}`, { details: { reason } });
  }
}

export class ApiForbiddenError extends WeftError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

/** Only an admin (or a control plane without authentication) may do this. */
export function assertAdmin(principal: Principal, action: string): void {
  if (principal.kind === 'admin') return;
  if (principal.kind === 'anonymous') throw new ApiUnauthenticatedError(`${action} needs an admin token`);
  throw new ApiForbiddenError(`${action} needs an admin token; this credential may act for service "${principal.service}" only`);
}

/** An admin, or a caller proven to act for exactly this service. */
export function assertMayActFor(principal: Principal, service: string, action: string): void {
  if (principal.kind === 'admin') return;
  if (principal.kind === 'anonymous') throw new ApiUnauthenticatedError(`${action} needs a token or a sidecar certificate`);
  if (principal.service !== service) {
    throw new ApiForbiddenError(`${action} for service "${service}" is not allowed: this credential may act for service "${principal.service}" only`);
  }
}
