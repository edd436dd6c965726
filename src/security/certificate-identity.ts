// Security: the workload identity a certificate names (its one SPIFFE URI), read with the X.509 library that only certificate code loads.
import { x509 } from './ca/x509-provider.js';
import { IdentityInvalidError, parseSpiffeId, spiffeUris, type SpiffeId } from './identity.js';

/**
 * The workload identity of a certificate (PEM text, DER bytes, e.g. a TLS socket's `getPeerCertificate().raw`, or a parsed
 * certificate). Exactly one SPIFFE URI must be present: none or several make the certificate's identity unknowable.
 */
export function spiffeIdOfCertificate(certificate: string | Uint8Array | x509.X509Certificate): SpiffeId {
  let parsed: x509.X509Certificate;
  try {
    parsed = certificate instanceof x509.X509Certificate ? certificate : new x509.X509Certificate(typeof certificate === 'string' ? certificate : new Uint8Array(certificate));
  } catch (error) {
    throw new IdentityInvalidError(`not a readable X.509 certificate: ${(error as Error).message}`);
  }
  const names = parsed.getExtensions(x509.SubjectAlternativeNameExtension).flatMap((extension) => extension.names.items);
  const uris = spiffeUris(names);
  if (uris.length !== 1) throw new IdentityInvalidError(`expected exactly one SPIFFE URI in the certificate's subject alternative names, found ${uris.length}`, { found: uris });
  return parseSpiffeId(uris[0] as string);
}
