// Security CA: reading a PKCS#10 request — its encoding, self-signature, key algorithm and size, and the one identity it asks for.
import { createPublicKey } from 'node:crypto';
import { IdentityInvalidError, IdentityMismatchError, formatSpiffeId, spiffeUris, type SpiffeId } from '../identity.js';
import { CsrRejectedError } from './ca-errors.js';
import { x509 } from './x509-provider.js';

const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 8192;
const EC_CURVES: ReadonlySet<string> = new Set(['prime256v1', 'secp384r1']);

/** What the CA takes from a request: the public key only; everything else in the certificate is the CA's choice. */
export interface AcceptedCsr {
  readonly publicKey: x509.PublicKey;
}

/**
 * Accepts a CSR (PEM text or DER bytes) only if it is well formed, uses an allowed key (ECDSA P-256/P-384, Ed25519, RSA
 * 2048-8192 bits), carries a valid self-signature (proof of possession of the key) and asks for exactly `expected` as its
 * one SPIFFE URI. Throws CsrRejectedError, IdentityInvalidError or IdentityMismatchError.
 */
export async function acceptCsr(csr: string | Uint8Array, expected: SpiffeId): Promise<AcceptedCsr> {
  const request = parseCsr(csr);
  checkKey(request.publicKey);
  let signatureValid: boolean;
  try {
    signatureValid = await request.verify();
  } catch {
    signatureValid = false;
  }
  if (!signatureValid) throw new CsrRejectedError('bad-signature', 'its signature does not verify with its own public key');
  const wanted = formatSpiffeId(expected);
  const asked = spiffeUris(request.extensions.filter((e) => e instanceof x509.SubjectAlternativeNameExtension).flatMap((e) => e.names.items));
  if (asked.length === 0) throw new IdentityInvalidError(`the request asks for no SPIFFE id; expected a URI subject alternative name ${wanted}`);
  if (asked.length > 1) throw new IdentityInvalidError(`the request asks for ${asked.length} SPIFFE ids; expected only ${wanted}`, { found: asked });
  if (asked[0] !== wanted) throw new IdentityMismatchError(wanted, asked[0] as string);
  return { publicKey: request.publicKey };
}

function parseCsr(csr: string | Uint8Array): x509.Pkcs10CertificateRequest {
  try {
    if (typeof csr === 'string') {
      if (!csr.includes('-----BEGIN CERTIFICATE REQUEST-----')) throw new Error('expected PEM "CERTIFICATE REQUEST"');
      return new x509.Pkcs10CertificateRequest(csr);
    }
    return new x509.Pkcs10CertificateRequest(new Uint8Array(csr));
  } catch (error) {
    throw new CsrRejectedError('malformed', `not a readable PKCS#10 request (${(error as Error).message})`);
  }
}

function checkKey(publicKey: x509.PublicKey): void {
  let key;
  try {
    key = createPublicKey({ key: Buffer.from(publicKey.rawData), format: 'der', type: 'spki' });
  } catch {
    throw new CsrRejectedError('key-algorithm', 'its public key is of an unknown or unsupported kind');
  }
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return;
    case 'ec':
      if (details.namedCurve && EC_CURVES.has(details.namedCurve)) return;
      throw new CsrRejectedError('key-algorithm', `EC curve ${details.namedCurve ?? 'unknown'} is not allowed; expected P-256 or P-384`);
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (bits >= MIN_RSA_BITS && bits <= MAX_RSA_BITS) return;
      throw new CsrRejectedError('key-size', `RSA key of ${bits} bits; expected ${MIN_RSA_BITS} to ${MAX_RSA_BITS}`);
    }
    default:
      throw new CsrRejectedError('key-algorithm', `key type ${key.asymmetricKeyType ?? 'unknown'} is not allowed; expected ECDSA P-256/P-384, Ed25519 or RSA`);
  }
}
