// Security: a workload proves to the control plane that it holds its current certificate — a short JWS signed with the workload key, the chain in `x5c`.
import { createPrivateKey, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { WeftError } from '../core/index.js';
import { pemCertificateBlocks } from './pem.js';

/** The `Authorization` scheme: `Authorization: WeftCert <compact JWS>`. */
export const WORKLOAD_ASSERTION_SCHEME = 'WeftCert';
/** JOSE `typ` of an assertion, so no other JWS (an app's JWT, say) can be passed off as one. */
export const WORKLOAD_ASSERTION_TYPE = 'weft-assertion+jws';

export const WORKLOAD_ASSERTION_DEFAULTS = {
  /** How long an assertion is good for after it was made. */
  lifetimeMs: 60_000,
  /** Tolerance for clocks that disagree, on `iat` and on certificate validity. */
  clockSkewMs: 30_000,
  /** Longest chain accepted in `x5c` (leaf + intermediates). */
  maxChainLength: 5,
} as const;

/** A workload assertion that does not prove what it claims; `reason` is fixed text, never the token. */
export class WorkloadAssertionError extends WeftError {
  constructor(readonly reason: string) {
    super('UNAUTHENTICATED', `unauthenticated: ${reason}`, { details: { reason } });
  }
}

export interface AssertionSigner {
  /** PKCS#8 PEM of the workload's key. */
  readonly keyPem: string;
  /** The workload's certificate chain, PEM, leaf first. */
  readonly certChainPem: string;
}

export interface AssertionRequest {
  readonly method: string;
  /** The request's path (and query), which the assertion is bound to. */
  readonly path: string;
  /** Wall-clock milliseconds. */
  readonly nowMs: number;
  readonly lifetimeMs?: number;
}

export interface AssertionClaims {
  readonly htm: string;
  readonly htp: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
}

/**
 * The value of an `Authorization` header proving the holder of `signer` makes this request. Synchronous
 * (node:crypto signs in place), so clients can add it as they build each request.
 */
export function createWorkloadAssertion(signer: AssertionSigner, request: AssertionRequest): string {
  const { key, algorithm, x5c } = preparedSigner(signer);
  const iat = Math.floor(request.nowMs / 1000);
  const claims: AssertionClaims = {
    htm: request.method.toUpperCase(),
    htp: request.path,
    iat,
    exp: iat + Math.ceil((request.lifetimeMs ?? WORKLOAD_ASSERTION_DEFAULTS.lifetimeMs) / 1000),
    jti: randomBytes(12).toString('base64url'),
  };
  const header = { alg: algorithm.alg, typ: WORKLOAD_ASSERTION_TYPE, x5c };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  // JWS wants ECDSA signatures as r||s (IEEE P1363), not node's default DER.
  const signature = sign(algorithm.digest, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${WORKLOAD_ASSERTION_SCHEME} ${input}.${signature.toString('base64url')}`;
}

interface PreparedSigner {
  readonly keyPem: string;
  readonly certChainPem: string;
  readonly key: KeyObject;
  readonly algorithm: { alg: string; digest: string | null };
  readonly x5c: readonly string[];
}

// A sidecar signs with one key and chain until it renews: parse them once per generation, not per request.
let lastSigner: PreparedSigner | undefined;

function preparedSigner(signer: AssertionSigner): PreparedSigner {
  if (lastSigner?.keyPem === signer.keyPem && lastSigner.certChainPem === signer.certChainPem) return lastSigner;
  const key = createPrivateKey(signer.keyPem);
  const x5c = pemCertificateBlocks(signer.certChainPem).map((pem) => new X509Certificate(pem).raw.toString('base64'));
  if (x5c.length === 0) throw new WorkloadAssertionError('the workload has no certificate');
  lastSigner = { keyPem: signer.keyPem, certChainPem: signer.certChainPem, key, algorithm: algorithmOf(key), x5c };
  return lastSigner;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}


function algorithmOf(key: KeyObject): { alg: string; digest: string | null } {
  const type = key.asymmetricKeyType;
  if (type === 'ec') return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? { alg: 'ES384', digest: 'sha384' } : { alg: 'ES256', digest: 'sha256' };
  if (type === 'ed25519') return { alg: 'EdDSA', digest: null };
  if (type === 'rsa') return { alg: 'RS256', digest: 'sha256' };
  throw new WorkloadAssertionError(`a workload key of type ${type ?? 'unknown'} cannot sign assertions`);
}
