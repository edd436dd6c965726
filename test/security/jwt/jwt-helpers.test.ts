// Security/JWT: the small pure parts — request path normalization, token extraction, the RFC 6750 challenge, Cache-Control and refresh bounds.
import { describe, expect, it } from 'vitest';
import { bearerChallenge, cacheControlMaxAge, canonicalRequestPath, extractToken, refreshDelayMs } from '../../../src/security/jwt/index.js';

describe('canonicalRequestPath', () => {
  it.each([
    ['/orders?id=1', '/orders'],
    ['/a/b/', '/a/b/'],
    ['/public/../admin', '/admin'],
    ['/public/%2E%2e/admin', '/admin'],
    ['/public/..\\admin', '/admin'],
    ['//a///b', '/a/b'],
    ['/a/./b/.', '/a/b/'],
    ['/../../etc', '/etc'],
    ['/a%2fb', '/a%2fb'],
    ['http://host:8080/x/../y?q', '/y'],
    ['*', '/*'],
    ['/x#frag', '/x'],
  ])('%s → %s', (target, expected) => {
    expect(canonicalRequestPath(target)).toBe(expected);
  });
});

describe('extractToken', () => {
  const location = { header: 'authorization', prefix: 'Bearer ' };
  it('reads a compact JWT after a case-insensitive prefix', () => {
    expect(extractToken(location, { authorization: 'BEARER a.b.c' })).toEqual({ kind: 'token', token: 'a.b.c' });
  });
  it('counts a missing header or another scheme as absent', () => {
    expect(extractToken(location, {}).kind).toBe('absent');
    expect(extractToken(location, { authorization: 'Basic abc' }).kind).toBe('absent');
  });
  it('calls an empty or non-JWT value malformed', () => {
    expect(extractToken(location, { authorization: 'Bearer ' }).kind).toBe('malformed');
    expect(extractToken(location, { authorization: 'Bearer a.b' }).kind).toBe('malformed');
    expect(extractToken(location, { authorization: 'Bearer a.b.c.d.e' }).kind).toBe('malformed');
  });
  it('reads a bare token from a header without prefix', () => {
    expect(extractToken({ header: 'x-token', prefix: '' }, { 'x-token': 'a.b.c' })).toEqual({ kind: 'token', token: 'a.b.c' });
  });
});

describe('bearerChallenge', () => {
  it('has no error attribute without a description, and drops characters RFC 6750 forbids', () => {
    expect(bearerChallenge('api')).toBe('Bearer realm="api"');
    expect(bearerChallenge('api', 'bad "token"\\\n')).toBe('Bearer realm="api", error="invalid_token", error_description="bad token"');
  });
});

describe('Cache-Control and refresh bounds', () => {
  const bounds = { defaultMs: 300_000, minMs: 30_000, maxMs: 86_400_000 };
  it('reads max-age, and no-cache or no-store as 0', () => {
    expect(cacheControlMaxAge('public, max-age=600')).toBe(600);
    expect(cacheControlMaxAge('no-cache, max-age=600')).toBe(0);
    expect(cacheControlMaxAge('no-store')).toBe(0);
    expect(cacheControlMaxAge('public')).toBeUndefined();
    expect(cacheControlMaxAge('max-age=abc')).toBeUndefined();
    expect(cacheControlMaxAge(null)).toBeUndefined();
  });
  it('clamps the refresh delay and defaults it', () => {
    expect(refreshDelayMs(undefined, bounds)).toBe(300_000);
    expect(refreshDelayMs(600, bounds)).toBe(600_000);
    expect(refreshDelayMs(0, bounds)).toBe(30_000);
    expect(refreshDelayMs(10_000_000, bounds)).toBe(86_400_000);
  });
});
