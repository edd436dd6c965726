// Test support for the CA: CSRs made with WebCrypto or the openssl command, and openssl as an outside verifier.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { webcrypto } from 'node:crypto';
import { x509 } from '../../../src/security/ca/x509-provider.js';

const run = promisify(execFile);

export type KeyKind = 'P-256' | 'Ed25519';

const GENERATE: Record<KeyKind, { generate: webcrypto.EcKeyGenParams | webcrypto.Algorithm; sign: webcrypto.Algorithm | webcrypto.EcdsaParams }> = {
  'P-256': { generate: { name: 'ECDSA', namedCurve: 'P-256' } as webcrypto.EcKeyGenParams, sign: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams },
  Ed25519: { generate: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
};

export async function keyPair(kind: KeyKind): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(GENERATE[kind].generate, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

/** A CSR asking for the given URIs; `signWith` signs it with another key than the one it carries (a forged request). */
export async function makeCsr(kind: KeyKind, uris: readonly string[], signWith?: webcrypto.CryptoKeyPair): Promise<string> {
  const keys = await keyPair(kind);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=workload',
    keys: signWith ? { publicKey: keys.publicKey, privateKey: signWith.privateKey } : keys,
    signingAlgorithm: GENERATE[kind].sign,
    extensions: uris.length ? [new x509.SubjectAlternativeNameExtension(uris.map((value) => ({ type: 'url' as const, value })))] : [],
  });
  return csr.toString('pem');
}

export class OpensslDir {
  private constructor(readonly dir: string) {}

  static async create(): Promise<OpensslDir> {
    return new OpensslDir(await mkdtemp(join(tmpdir(), 'weft-ca-openssl-')));
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  async write(name: string, content: string): Promise<string> {
    await writeFile(this.path(name), content);
    return this.path(name);
  }

  read(name: string): Promise<string> {
    return readFile(this.path(name), 'utf8');
  }

  /** Runs openssl in this directory; resolves with stdout+stderr and the exit code instead of throwing. */
  async openssl(args: readonly string[]): Promise<{ code: number; output: string }> {
    try {
      const { stdout, stderr } = await run('openssl', args, { cwd: this.dir, timeout: 20_000 });
      return { code: 0, output: stdout + stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof failed.code === 'number' ? failed.code : -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
    }
  }

  /** `openssl verify` of a leaf against a bundle (and intermediates), strict X.509 checks, for TLS client and server use. */
  async verify(bundlePem: string, leafPem: string, chainPem = ''): Promise<{ ok: boolean; output: string }> {
    const bundle = await this.write('bundle.pem', bundlePem);
    const leaf = await this.write('leaf.pem', leafPem);
    const untrusted = chainPem ? ['-untrusted', await this.write('chain.pem', chainPem)] : [];
    let output = '';
    for (const purpose of ['sslserver', 'sslclient']) {
      const result = await this.openssl(['verify', '-x509_strict', '-purpose', purpose, '-CAfile', bundle, ...untrusted, leaf]);
      output += result.output;
      if (result.code !== 0) return { ok: false, output };
    }
    return { ok: true, output };
  }

  remove(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}
