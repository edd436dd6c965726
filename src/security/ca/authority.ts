// Security CA: a signing authority (certificate, chain above it, key) — a new self-signed root, or an intermediate read from PEM files.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError, WeftError } from '../../core/index.js';
import { pemCertificateBlocks } from '../pem.js';
import { generateAuthorityKeys, keyMatchesCertificate, readPrivateKeyPem, type SigningKey } from './key-material.js';
import { x509 } from './x509-provider.js';

export interface Authority {
  /** Stable id of this authority within the CA's state (a root's id is kept across restarts). */
  readonly id: string;
  readonly certificate: x509.X509Certificate;
  /** Certificates above `certificate`, nearest first, ending at a self-signed root; empty when it is the root itself. */
  readonly chain: readonly x509.X509Certificate[];
  readonly key: SigningKey;
}

/** The self-signed root that anchors trust for leaves signed by `authority`. */
export function rootOf(authority: Authority): x509.X509Certificate {
  return authority.chain.at(-1) ?? authority.certificate;
}

/** Clock skew allowance: certificates start this long before they are made. */
export const BACKDATE_MS = 60_000;

export async function createRootAuthority(trustDomain: string, lifetimeMs: number, nowMs: number): Promise<Authority> {
  const id = randomBytes(8).toString('hex');
  const { key, publicKey } = await generateAuthorityKeys();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    // A distinct subject per root lets verifiers tell old and new roots apart during a rotation.
    subject: [{ O: ['weft'] }, { OU: [trustDomain] }, { CN: [`weft root ${id}`] }],
    issuer: [{ O: ['weft'] }, { OU: [trustDomain] }, { CN: [`weft root ${id}`] }],
    notBefore: new Date(nowMs - BACKDATE_MS),
    notAfter: new Date(nowMs + lifetimeMs),
    publicKey,
    signingKey: key.privateKey,
    signingAlgorithm: key.signingAlgorithm,
    extensions: [
      // Path length 0: this root signs leaves only.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
    ],
  });
  return { id, certificate, chain: [], key };
}

/** Serial numbers are 16 bytes with 126 random bits, as CA/Browser Forum practice asks for at least 64. */
export function randomSerial(): string {
  // A positive DER INTEGER with no leading zero octet keeps all 16 bytes (RFC 5280 4.1.2.2), so the
  // serial reads back as the same 32 hex digits instead of losing or gaining a byte at random.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return bytes.toString('hex');
}

/** Rebuilds a stored authority; `where` names the storage for errors. */
export async function restoreAuthority(id: string, certificatePem: string, privateKeyPem: string, where: string): Promise<Authority> {
  let certificate: x509.X509Certificate;
  let key: SigningKey;
  try {
    certificate = new x509.X509Certificate(certificatePem);
    key = await readPrivateKeyPem(privateKeyPem);
  } catch (error) {
    throw new WeftError('STORE_CORRUPT', `CA state at ${where}: authority ${id} cannot be read: ${(error as Error).message}`);
  }
  if (!keyMatchesCertificate(key, certificate)) throw new WeftError('STORE_CORRUPT', `CA state at ${where}: the private key of authority ${id} does not match its certificate`);
  return { id, certificate, chain: [], key };
}

export interface ExternalAuthorityFiles {
  /** PEM file: the CA certificate first, then the chain above it up to and including the self-signed root. */
  readonly certPath: string;
  /** PEM private key of the CA certificate (PKCS#8, SEC1 or PKCS#1). */
  readonly keyPath: string;
}

/**
 * Loads an intermediate (or root) CA given as files. Checks that it is a CA certificate allowed to sign certificates, that
 * the key is its key, that it is valid now, and that the chain links up to a self-signed root, so leaves verify to that root.
 */
export async function loadExternalAuthority(files: ExternalAuthorityFiles, nowMs: number): Promise<Authority> {
  const certificates = parseCertificates(await readText(files.certPath, '--ca-cert'), files.certPath);
  const [certificate, ...chain] = certificates as [x509.X509Certificate, ...x509.X509Certificate[]];
  let key: SigningKey;
  try {
    key = await readPrivateKeyPem(await readText(files.keyPath, '--ca-key'));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(files.keyPath, '', `expected a PEM private key (EC P-256/P-384, RSA or Ed25519): ${(error as Error).message}`);
  }
  if (!keyMatchesCertificate(key, certificate)) throw new ConfigError(files.keyPath, '', `expected the private key of the certificate in ${files.certPath}`);
  checkSigningCertificate(certificate, files.certPath, 'certificate 1');
  const now = new Date(nowMs);
  for (const [index, cert] of certificates.entries()) {
    if (cert.notAfter < now || cert.notBefore > now) throw new ConfigError(files.certPath, `certificate ${index + 1}`, `expected a certificate valid now, it is valid from ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}`);
  }
  for (let index = 0; index < chain.length; index++) {
    const issuer = chain[index] as x509.X509Certificate;
    const subject = certificates[index] as x509.X509Certificate;
    checkSigningCertificate(issuer, files.certPath, `certificate ${index + 2}`);
    if (!(await subject.verify({ publicKey: issuer.publicKey, signatureOnly: true }))) {
      throw new ConfigError(files.certPath, `certificate ${index + 2}`, `expected the issuer of certificate ${index + 1} (the chain must go upwards, nearest issuer first)`);
    }
  }
  const top = certificates[certificates.length - 1] as x509.X509Certificate;
  if (!(await top.isSelfSigned())) {
    throw new ConfigError(files.certPath, `certificate ${certificates.length}`, 'expected the chain to end with its self-signed root, so that leaves can be verified up to it');
  }
  return { id: 'external', certificate, chain, key };
}

function checkSigningCertificate(certificate: x509.X509Certificate, source: string, path: string): void {
  const constraints = certificate.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) throw new ConfigError(source, path, 'expected a CA certificate (basicConstraints cA=true)');
  const usage = certificate.getExtension(x509.KeyUsagesExtension);
  if (!usage || (usage.usages & x509.KeyUsageFlags.keyCertSign) === 0) throw new ConfigError(source, path, 'expected keyUsage to include keyCertSign');
}

function parseCertificates(text: string, source: string): x509.X509Certificate[] {
  const blocks = pemCertificateBlocks(text);
  if (blocks.length === 0) throw new ConfigError(source, '', 'expected one or more PEM certificates (-----BEGIN CERTIFICATE-----)');
  return blocks.map((block, index) => {
    try {
      return new x509.X509Certificate(block);
    } catch (error) {
      throw new ConfigError(source, `certificate ${index + 1}`, `expected a readable X.509 certificate: ${(error as Error).message}`);
    }
  });
}

async function readText(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(flag, path, `expected a readable file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
