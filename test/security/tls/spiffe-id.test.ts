// Tests: SPIFFE ids read from node's rendering of subject alternative names (making and parsing ids: test/security/identity.test.ts).
import { describe, expect, it } from 'vitest';
import { spiffeIdOfSubjectAltName } from '../../../src/security/tls/index.js';

describe('spiffeIdOfSubjectAltName', () => {
  it('finds the one URI among other names', () => {
    expect(spiffeIdOfSubjectAltName('DNS:api.local, URI:spiffe://weft.local/service/api, IP Address:127.0.0.1')).toBe(
      'spiffe://weft.local/service/api',
    );
  });

  it('reads a JSON-quoted value whole', () => {
    expect(spiffeIdOfSubjectAltName('URI:"spiffe://weft.local/service/a,b"')).toBe('spiffe://weft.local/service/a,b');
  });

  it('gives null for no URI, two URIs, or a URI that is not spiffe', () => {
    expect(spiffeIdOfSubjectAltName(undefined)).toBeNull();
    expect(spiffeIdOfSubjectAltName('DNS:api.local')).toBeNull();
    expect(spiffeIdOfSubjectAltName('URI:spiffe://weft.local/service/a, URI:spiffe://weft.local/service/b')).toBeNull();
    expect(spiffeIdOfSubjectAltName('URI:https://weft.local/service/a')).toBeNull();
  });
});
