// Tests: the hand-written PKCS#10 DER reads back in openssl with lengths on both sides of DER's short/long form boundaries, and a URI IA5String cannot hold is refused.
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { certificationRequestDer } from '../../src/security/csr-der.js';
import { OpensslDir } from './ca/pki-fixtures.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const PREFIX = 'spiffe://weft.local/service/';

function request(uri: string): Buffer {
  return certificationRequestDer({ commonName: 'api', uri, publicKeyInfo: publicKey.export({ type: 'spki', format: 'der' }), privateKey });
}

let openssl: OpensslDir;

beforeAll(async () => {
  openssl = await OpensslDir.create();
});

afterAll(async () => {
  await openssl.remove();
});

// 127/128 and 255/256 are where the URI's own length goes from one byte to 0x81 nn and from 0x81 nn to 0x82 nn nn.
it.each([127, 128, 255, 256, 1000])('openssl verifies a request whose URI is %i bytes', async (size) => {
  const uri = `${PREFIX}${'a'.repeat(size - PREFIX.length)}`;
  const file = openssl.path(`request-${size}.der`);
  await writeFile(file, request(uri));
  const result = await openssl.openssl(['req', '-inform', 'DER', '-in', file, '-noout', '-verify', '-text']);
  expect(result.output).toMatch(/verify OK/);
  expect(result.code).toBe(0);
  expect(result.output).toContain(`URI:${uri}\n`);
});

it('refuses a URI with a character IA5String does not have, instead of asking for another URI', () => {
  expect(() => request(`${PREFIX}café`)).toThrow(RangeError);
  expect(() => request(`${PREFIX}a\nb`)).toThrow(RangeError);
});
