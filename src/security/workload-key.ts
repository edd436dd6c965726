// Security: the sidecar's own key (ECDSA P-256, made in-process and never sent anywhere) and the CSR naming its SPIFFE id.
import { webcrypto } from 'node:crypto';
import { ValidationError } from '../core/index.js';
import { IdentityInvalidError, parseSpiffeId, type SpiffeId } from './identity.js';

/** The X.509 library (and reflect-metadata) is loaded when a key or CSR is first made, not when a workload starts. */
function loadX509(): Promise<typeof import('./ca/x509-provider.js')> {
  return import('./ca/x509-provider.js');
}

const EC_KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

/** A workload's key pair; `privateKeyPem` is what node:tls takes, held in memory only. */
export interface WorkloadKey {
  readonly keys: webcrypto.CryptoKeyPair;
  readonly privateKeyPem: string;
}

export async function generateWorkloadKey(): Promise<WorkloadKey> {
  // Extractable only so that node:tls, which takes PEM, can use it; the PEM never leaves this process.
  const keys = (await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const { x509 } = await loadX509();
  return { keys, privateKeyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}

/**
 * A PKCS#10 request (PEM) for `spiffeId`, signed by the workload's key: the id is the one URI SAN and the
 * service name the subject CN, which the CA may ignore (SPIFFE identity lives in the SAN only).
 */
export async function createWorkloadCsr(key: WorkloadKey, spiffeId: string): Promise<string> {
  const parsed = parsedSpiffeId(spiffeId);
  const { x509 } = await loadX509();
  const request = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: [{ CN: [parsed.service] }],
      keys: key.keys,
      signingAlgorithm: SIGNING,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }])],
    },
    webcrypto,
  );
  return request.toString('pem');
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
