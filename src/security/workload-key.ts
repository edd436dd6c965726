// Security: the sidecar's own key (ECDSA P-256, made in-process and never sent anywhere) and the CSR naming its SPIFFE id.
import { KeyObject, webcrypto } from 'node:crypto';
import { ValidationError } from '../core/index.js';
import { certificationRequestDer } from './csr-der.js';
import { IdentityInvalidError, parseSpiffeId, type SpiffeId } from './identity.js';

const EC_KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };

/** A workload's key pair; `privateKeyPem` is what node:tls takes, held in memory only. */
export interface WorkloadKey {
  readonly keys: webcrypto.CryptoKeyPair;
  readonly privateKeyPem: string;
}

export async function generateWorkloadKey(): Promise<WorkloadKey> {
  // Extractable only so that node:tls, which takes PEM, can use it; the PEM never leaves this process.
  const keys = (await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const privateKeyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString();
  return { keys, privateKeyPem };
}

/**
 * A PKCS#10 request (PEM) for `spiffeId`, signed by the workload's key: the id is the one URI SAN and the
 * service name the subject CN, which the CA may ignore (SPIFFE identity lives in the SAN only).
 */
export async function createWorkloadCsr(key: WorkloadKey, spiffeId: string): Promise<string> {
  const parsed = parsedSpiffeId(spiffeId);
  const der = certificationRequestDer({
    commonName: parsed.service,
    uri: spiffeId,
    publicKeyInfo: KeyObject.from(key.keys.publicKey).export({ type: 'spki', format: 'der' }),
    privateKey: KeyObject.from(key.keys.privateKey),
  });
  return pem('CERTIFICATE REQUEST', der);
}

/** The caller handed us a string, so a malformed id is bad input in the `spiffeId` argument. */
function parsedSpiffeId(text: string): SpiffeId {
  try {
    return parseSpiffeId(text);
  } catch (error) {
    if (error instanceof IdentityInvalidError) throw new ValidationError('spiffeId', error.message);
    throw error;
  }
}

/** RFC 7468 text: base64 in lines of 64 characters, which strict readers (openssl among them) require. */
function pem(label: string, der: Uint8Array): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
