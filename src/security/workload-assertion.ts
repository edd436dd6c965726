// Security: a workload proves to the control plane that it holds its current certificate — a short JWS signed with the workload key, the chain in `x5c`.
import { createPrivateKey, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { compactVerify, errors as joseErrors } from 'jose';
import { WeftError } from '../core/index.js';
import { formatSpiffeId, spiffeIdOfCertificate } from './identity.js';
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

const ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'RS256'];

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

interface AssertionClaims {
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

// The CA hands out the same roots array until its bundle changes: parse it once per bundle, not per request.
let lastRoots: { readonly pems: readonly string[]; readonly parsed: readonly X509Certificate[] } | undefined;

function parsedRoots(pems: readonly string[]): readonly X509Certificate[] {
  if (lastRoots?.pems === pems) return lastRoots.parsed;
  const parsed = pems.map((pem) => new X509Certificate(pem));
  lastRoots = { pems, parsed };
  return parsed;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

export interface AssertionCheck {
  readonly method: string;
  readonly path: string;
  readonly nowMs: number;
  /** The roots the CA currently trusts, PEM each. */
  readonly trustBundle: readonly string[];
  readonly trustDomain: string;
  readonly clockSkewMs?: number;
}

export interface AssertedWorkload {
  readonly spiffeId: string;
  readonly service: string;
  /** Serial number of the leaf, lower-case hex. */
  readonly serial: string;
  readonly notAfterMs: number;
}

/** Verifies an assertion (the JWS, without the scheme) for this request; throws WorkloadAssertionError. */
export async function verifyWorkloadAssertion(jws: string, check: AssertionCheck): Promise<AssertedWorkload> {
  const skewMs = check.clockSkewMs ?? WORKLOAD_ASSERTION_DEFAULTS.clockSkewMs;
  let leaf: X509Certificate | undefined;
  let payload: Uint8Array;
  try {
    const verified = await compactVerify(
      jws,
      (header) => {
        if (header.typ !== WORKLOAD_ASSERTION_TYPE) throw new WorkloadAssertionError('not a workload assertion');
        leaf = verifiedLeaf(header.x5c, check, skewMs);
        return leaf.publicKey;
      },
      { algorithms: ALGORITHMS },
    );
    payload = verified.payload;
  } catch (error) {
    if (error instanceof WorkloadAssertionError) throw error;
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) throw new WorkloadAssertionError('the assertion signature does not verify');
    if (error instanceof joseErrors.JOSEAlgNotAllowed) throw new WorkloadAssertionError('the assertion algorithm is not allowed');
    throw new WorkloadAssertionError('the assertion is malformed');
  }
  const claims = parseClaims(payload);
  if (claims.htm !== check.method.toUpperCase() || claims.htp !== check.path) throw new WorkloadAssertionError('the assertion was made for another request');
  const nowS = check.nowMs / 1000;
  if (claims.iat * 1000 > check.nowMs + skewMs) throw new WorkloadAssertionError('the assertion is from the future');
  if (claims.exp < nowS - skewMs / 1000 || claims.exp - claims.iat > WORKLOAD_ASSERTION_DEFAULTS.lifetimeMs / 1000 * 5) {
    throw new WorkloadAssertionError('the assertion has expired');
  }
  const cert = leaf!;
  const id = spiffeIdOfCertificate(cert.raw);
  const spiffeId = formatSpiffeId(id);
  if (id.trustDomain !== check.trustDomain) throw new WorkloadAssertionError('the certificate is of another trust domain');
  // Lower case, as the CA reports serials (node prints them in upper case).
  return { spiffeId, service: id.service, serial: cert.serialNumber.toLowerCase(), notAfterMs: Date.parse(cert.validTo) };
}

/** The leaf of `x5c`, once its chain is proven to end at a trusted root and every link is valid now. */
function verifiedLeaf(x5c: unknown, check: AssertionCheck, skewMs: number): X509Certificate {
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > WORKLOAD_ASSERTION_DEFAULTS.maxChainLength || !x5c.every((c) => typeof c === 'string')) {
    throw new WorkloadAssertionError('the assertion carries no certificate chain');
  }
  let chain: X509Certificate[];
  let roots: readonly X509Certificate[];
  try {
    chain = (x5c as string[]).map((der) => new X509Certificate(Buffer.from(der, 'base64')));
    roots = parsedRoots(check.trustBundle);
  } catch {
    throw new WorkloadAssertionError('the certificate chain does not parse');
  }
  const leaf = chain[0]!;
  if (leaf.ca) throw new WorkloadAssertionError('the certificate is a CA certificate');
  for (const cert of chain) {
    if (Date.parse(cert.validFrom) > check.nowMs + skewMs || Date.parse(cert.validTo) < check.nowMs - skewMs) {
      throw new WorkloadAssertionError('the certificate is expired or not yet valid');
    }
  }
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    const next = chain[i + 1];
    if (next !== undefined) {
      if (!next.ca || !cert.checkIssued(next) || !cert.verify(next.publicKey)) throw new WorkloadAssertionError('the certificate chain is broken');
      continue;
    }
    const root = roots.find((r) => cert.checkIssued(r) && cert.verify(r.publicKey));
    if (!root) throw new WorkloadAssertionError('the certificate is not signed by a trusted root');
    if (Date.parse(root.validTo) < check.nowMs - skewMs) throw new WorkloadAssertionError('the trusted root has expired');
  }
  return leaf;
}

function parseClaims(payload: Uint8Array): AssertionClaims {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw new WorkloadAssertionError('the assertion is malformed');
  }
  const c = value as Partial<Record<keyof AssertionClaims, unknown>> | null;
  if (
    c === null || typeof c !== 'object' ||
    typeof c.htm !== 'string' || typeof c.htp !== 'string' || typeof c.jti !== 'string' ||
    typeof c.iat !== 'number' || typeof c.exp !== 'number' || !Number.isFinite(c.iat) || !Number.isFinite(c.exp)
  ) {
    throw new WorkloadAssertionError('the assertion is malformed');
  }
  return c as AssertionClaims;
}

function algorithmOf(key: KeyObject): { alg: string; digest: string | null } {
  const type = key.asymmetricKeyType;
  if (type === 'ec') return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? { alg: 'ES384', digest: 'sha384' } : { alg: 'ES256', digest: 'sha256' };
  if (type === 'ed25519') return { alg: 'EdDSA', digest: null };
  if (type === 'rsa') return { alg: 'RS256', digest: 'sha256' };
  throw new WorkloadAssertionError(`a workload key of type ${type ?? 'unknown'} cannot sign assertions`);
}
