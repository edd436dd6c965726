// Tests: SPIFFE ids of workloads, made, parsed, and read from node's rendering of subject alternative names.
import { describe, expect, it } from 'vitest';
import { parseServiceSpiffeId, serviceSpiffeId, spiffeIdOfSubjectAltName } from '../../../src/security/tls/index.js';

describe('serviceSpiffeId', () => {
  it('names a service in a trust domain and parses back', () => {
    const id = serviceSpiffeId('weft.local', 'api-v2');
    expect(id).toBe('spiffe://weft.local/service/api-v2');
    expect(parseServiceSpiffeId(id)).toEqual({ trustDomain: 'weft.local', service: 'api-v2' });
  });

  it('rejects parts that would make another id', () => {
    expect(() => serviceSpiffeId('Weft.Local', 'api')).toThrow(/trustDomain/);
    expect(() => serviceSpiffeId('weft.local', 'api/admin')).toThrow(/service/);
    expect(parseServiceSpiffeId('spiffe://weft.local/service/api/admin')).toBeNull();
    expect(parseServiceSpiffeId('https://weft.local/service/api')).toBeNull();
  });
});

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
