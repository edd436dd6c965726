// Security CA: signing keys — generated (ECDSA P-256), written and read as PKCS#8 PEM, and the signature algorithm each needs.
import { KeyObject, createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { x509 } from './x509-provider.js';

type CryptoKey = webcrypto.CryptoKey;

/** A CA's private key with the WebCrypto algorithm it signs certificates with. */
export interface SigningKey {
  readonly privateKey: CryptoKey;
  readonly signingAlgorithm: webcrypto.Algorithm | webcrypto.EcdsaParams;
  /** PKCS#8 PEM, for storage. */
  readonly pem: string;
  /** DER SubjectPublicKeyInfo of the matching public key, to check it against a certificate. */
  readonly publicKeyDer: Uint8Array;
}

const P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export interface GeneratedKeys {
  readonly key: SigningKey;
  readonly publicKey: CryptoKey;
}

/** A fresh ECDSA P-256 key pair for a root; extractable only so that its PKCS#8 form can be stored. */
export async function generateAuthorityKeys(): Promise<GeneratedKeys> {
  const pair = (await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', pair.privateKey));
  const key = await importPrivateKey(createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }));
  return { key, publicKey: pair.publicKey };
}

/** Reads a private key in any PEM form OpenSSL writes (PKCS#8, SEC1 "EC PRIVATE KEY", PKCS#1 RSA). Throws on others. */
export function readPrivateKeyPem(pem: string): Promise<SigningKey> {
  return importPrivateKey(createPrivateKey({ key: pem, format: 'pem' }));
}

async function importPrivateKey(keyObject: KeyObject): Promise<SigningKey> {
  const { importAlgorithm, signingAlgorithm } = algorithmsFor(keyObject);
  const pkcs8 = keyObject.export({ format: 'der', type: 'pkcs8' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, importAlgorithm, false, ['sign']);
  const pem = keyObject.export({ format: 'pem', type: 'pkcs8' }).toString();
  const publicKeyDer = new Uint8Array(createPublicKey(keyObject).export({ format: 'der', type: 'spki' }));
  return { privateKey, signingAlgorithm, pem, publicKeyDer };
}

function algorithmsFor(keyObject: KeyObject): { importAlgorithm: webcrypto.AlgorithmIdentifier | webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams; signingAlgorithm: webcrypto.Algorithm | webcrypto.EcdsaParams } {
  switch (keyObject.asymmetricKeyType) {
    case 'ec': {
      const curve = keyObject.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return { importAlgorithm: P256, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams };
      if (curve === 'secp384r1') return { importAlgorithm: { name: 'ECDSA', namedCurve: 'P-384' }, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } as webcrypto.EcdsaParams };
      throw new Error(`unsupported EC curve ${curve ?? 'unknown'}: expected P-256 or P-384`);
    }
    case 'rsa':
      return { importAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' } };
    case 'ed25519':
      return { importAlgorithm: { name: 'Ed25519' }, signingAlgorithm: { name: 'Ed25519' } };
    default:
      throw new Error(`unsupported key type ${keyObject.asymmetricKeyType ?? 'unknown'}: expected EC P-256/P-384, RSA or Ed25519`);
  }
}

/** Whether the certificate certifies the public half of `key`. */
export function keyMatchesCertificate(key: SigningKey, certificate: x509.X509Certificate): boolean {
  return Buffer.from(key.publicKeyDer).equals(Buffer.from(certificate.publicKey.rawData));
}
