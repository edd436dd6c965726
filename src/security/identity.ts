// Security: workload identities as SPIFFE ids (spiffe://<trust-domain>/service/<name>); reading one from a certificate is certificate-identity.ts.
import { WeftError } from '../core/index.js';
import { SERVICE_NAME } from '../model/index.js';
import { TRUST_DOMAIN, trustDomainProblem } from './trust-domain.js';

export { TRUST_DOMAIN, trustDomainProblem };

/** SPIFFE trust domain: lowercase letters, digits, dots, dashes and underscores (SPIFFE-ID spec, section 2.1). */
const SPIFFE_SCHEME = 'spiffe://';
const SERVICE_PATH = '/service/';

export interface SpiffeId {
  readonly trustDomain: string;
  readonly service: string;
}

/** A SPIFFE id, a trust domain or a certificate's identity is malformed, missing or ambiguous. */
export class IdentityInvalidError extends WeftError {
  constructor(message: string, details: Readonly<Record<string, unknown>> = {}) {
    super('IDENTITY_INVALID', message, { details });
  }
}

/** A caller asked for (or presented) an identity other than the one it is entitled to. */
export class IdentityMismatchError extends WeftError {
  constructor(expected: string, actual: string) {
    super('IDENTITY_MISMATCH', `expected identity ${expected}, got ${actual}`, { details: { expected, actual } });
  }
}

export function assertTrustDomain(trustDomain: string): void {
  const problem = trustDomainProblem(trustDomain);
  if (problem) throw new IdentityInvalidError(problem, { trustDomain });
}

export function spiffeId(trustDomain: string, service: string): SpiffeId {
  assertTrustDomain(trustDomain);
  if (!SERVICE_NAME.test(service)) throw new IdentityInvalidError(`expected a service name (a DNS label), got "${service}"`, { service });
  return { trustDomain, service };
}

export function formatSpiffeId(id: SpiffeId): string {
  return `${SPIFFE_SCHEME}${id.trustDomain}${SERVICE_PATH}${id.service}`;
}

/** Parses a weft workload id; anything else (another path, query, port, upper case, trailing slash) is refused. */
export function parseSpiffeId(text: string): SpiffeId {
  if (!text.startsWith(SPIFFE_SCHEME)) throw new IdentityInvalidError(`expected a spiffe:// URI, got "${text}"`, { id: text });
  const rest = text.slice(SPIFFE_SCHEME.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  if (!path.startsWith(SERVICE_PATH)) throw new IdentityInvalidError(`expected a path of the form /service/<name> in "${text}"`, { id: text });
  try {
    return spiffeId(trustDomain, path.slice(SERVICE_PATH.length));
  } catch (error) {
    if (error instanceof IdentityInvalidError) throw new IdentityInvalidError(`${error.message} in "${text}"`, { id: text });
    throw error;
  }
}

export function sameSpiffeId(a: SpiffeId, b: SpiffeId): boolean {
  return a.trustDomain === b.trustDomain && a.service === b.service;
}

/** The URIs of a SAN extension that claim to be SPIFFE ids (the scheme compared without case, so "SPIFFE://" cannot slip past). */
export function spiffeUris(names: readonly { readonly type: string; readonly value: string }[]): string[] {
  return names.filter((name) => name.type === 'url' && name.value.toLowerCase().startsWith(SPIFFE_SCHEME)).map((name) => name.value);
}
