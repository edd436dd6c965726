// Security: the control plane's side of workload assertions — verifies the JWS, its `x5c` chain up to the trust bundle, and the request it was made for.
import { X509Certificate } from 'node:crypto';
import { compactVerify, errors as joseErrors } from 'jose';
import { spiffeIdOfCertificate } from './certificate-identity.js';
import { formatSpiffeId } from './identity.js';
import { WORKLOAD_ASSERTION_DEFAULTS, WORKLOAD_ASSERTION_TYPE, WorkloadAssertionError, type AssertionClaims } from './workload-assertion.js';

const ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'RS256'];

// The CA hands out the same roots array until its bundle changes: parse it once per bundle, not per request.
let lastRoots: { readonly pems: readonly string[]; readonly parsed: readonly X509Certificate[] } | undefined;

function parsedRoots(pems: readonly string[]): readonly X509Certificate[] {
  if (lastRoots?.pems === pems) return lastRoots.parsed;
  const parsed = pems.map((pem) => new X509Certificate(pem));
  lastRoots = { pems, parsed };
  return parsed;
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
