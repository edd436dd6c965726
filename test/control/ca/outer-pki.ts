// Test support for the control CA: an outside PKI made by openssl (root → intermediate) to give as --ca-cert/--ca-key.
import { OpensslDir } from '../../security/ca/pki-fixtures.js';

export interface OuterPki {
  readonly dir: OpensslDir;
  /** The intermediate followed by the root: what --ca-cert takes. */
  readonly chainPath: string;
  readonly keyPath: string;
  readonly rootPem: string;
}

const EXTENSIONS = ['[ca]', 'basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid'].join('\n');
const P256 = ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

export async function makeOuterPki(): Promise<OuterPki> {
  const dir = await OpensslDir.create();
  const ok = async (args: readonly string[]): Promise<void> => {
    const result = await dir.openssl(args);
    if (result.code !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.output}`);
  };
  await dir.write('ext.cnf', EXTENSIONS);
  for (const [name, issuer] of [['root', undefined], ['intermediate', 'root']] as const) {
    await ok(['req', '-new', '-newkey', ...P256, '-nodes', '-keyout', `${name}.key`, '-subj', `/O=Corp/CN=${name}`, '-out', `${name}.csr`]);
    const signer = issuer ? ['-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-set_serial', '4242'] : ['-key', `${name}.key`];
    await ok(['x509', '-req', '-in', `${name}.csr`, ...signer, '-days', '30', '-extfile', 'ext.cnf', '-extensions', 'ca', '-out', `${name}.pem`]);
  }
  const rootPem = await dir.read('root.pem');
  const chainPath = await dir.write('intermediate-chain.pem', (await dir.read('intermediate.pem')) + rootPem);
  return { dir, chainPath, keyPath: dir.path('intermediate.key'), rootPem };
}

/** The first certificate of a PEM chain and the rest, for `openssl verify -untrusted`. */
export function splitChain(pem: string): { leaf: string; rest: string } {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
  return { leaf: blocks[0] ?? '', rest: blocks.slice(1).join('') };
}
