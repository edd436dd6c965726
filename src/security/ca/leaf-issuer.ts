// Security CA: issues a workload (leaf) certificate for an accepted request; every field and extension is set here, none copied.
import { WeftError } from '../../core/index.js';
import { formatSpiffeId, type SpiffeId } from '../identity.js';
import { BACKDATE_MS, randomSerial, type Authority } from './authority.js';
import type { AcceptedCsr } from './csr.js';
import { x509 } from './x509-provider.js';

export interface IssuedCertificate {
  readonly spiffeId: string;
  /** Hex serial number. */
  readonly serialNumber: string;
  /** The leaf alone, PEM. */
  readonly certificatePem: string;
  /** Intermediates between the leaf and its root, nearest first, PEM (empty for leaves signed by a root). */
  readonly chainPem: string;
  /** Leaf then intermediates: what a TLS server or client presents. */
  readonly fullChainPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Id of the authority that signed it, so a rotation can tell which root a sidecar's certificate hangs from. */
  readonly authorityId: string;
}

/** Lifetime is capped at the authority's own expiry: a leaf never outlives the certificate that vouches for it. */
export async function issueLeaf(authority: Authority, request: AcceptedCsr, identity: SpiffeId, lifetimeMs: number, nowMs: number): Promise<IssuedCertificate> {
  if (authority.certificate.notAfter.getTime() <= nowMs) {
    // Signing anyway would make certificates that expired at birth; the operator must rotate (or replace --ca-cert).
    throw new WeftError('CONTROL_UNAVAILABLE', `the signing CA certificate expired at ${authority.certificate.notAfter.toISOString()}; rotate the CA`, { details: { authorityId: authority.id } });
  }
  const uri = formatSpiffeId(identity);
  const notBefore = new Date(nowMs - BACKDATE_MS);
  const notAfter = new Date(Math.min(nowMs + lifetimeMs, authority.certificate.notAfter.getTime()));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ O: ['weft'] }, { OU: [identity.trustDomain] }, { CN: [identity.service] }],
    // The issuer's name exactly as encoded in its certificate, so verifiers match it byte for byte.
    issuer: authority.certificate.subjectName,
    notBefore,
    notAfter,
    publicKey: request.publicKey,
    signingKey: authority.key.privateKey,
    signingAlgorithm: authority.key.signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      // EC and Ed25519 keys sign in TLS 1.3; keyEncipherment would only matter for RSA key transport, which TLS 1.3 dropped.
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(request.publicKey),
      await authorityKeyIdentifier(authority),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }], true),
    ],
  });
  // The root itself is left out: verifiers must already trust it (it comes from the trust bundle, never from the peer).
  const chainPem = authority.chain.length === 0 ? '' : joinPem([authority.certificate, ...authority.chain.slice(0, -1)]);
  const certificatePem = certificate.toString('pem');
  return {
    spiffeId: uri,
    serialNumber: certificate.serialNumber,
    certificatePem,
    chainPem,
    fullChainPem: chainPem ? `${certificatePem}\n${chainPem}` : certificatePem,
    notBefore,
    notAfter,
    authorityId: authority.id,
  };
}

/** The issuer's own subject key identifier when it has one (an external CA may derive it differently from SHA-1 of the key). */
async function authorityKeyIdentifier(authority: Authority): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = authority.certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski ? new x509.AuthorityKeyIdentifierExtension(ski.keyId) : x509.AuthorityKeyIdentifierExtension.create(authority.certificate.publicKey);
}

export function joinPem(certificates: readonly x509.X509Certificate[]): string {
  return certificates.map((cert) => cert.toString('pem')).join('\n');
}
