// Control auth: which requests are open, reads or changes.
import { describe, expect, it } from 'vitest';
import { accessClass } from '../../../src/control/auth/index.js';

describe('access classes', () => {
  it.each([
    ['GET', '/healthz', 'open'],
    ['GET', '/metrics', 'open'],
    ['HEAD', '/metrics', 'open'],
    ['GET', '/api/v1/mesh', 'open'],
    ['GET', '/api/v1/trust-bundle', 'open'],
    ['GET', '/', 'open'],
    ['GET', '/dashboard/app.js', 'open'],
    ['GET', '/dashboard/vendor/uPlot.esm.js', 'open'],
    ['GET', '/api/v1/services', 'read'],
    ['HEAD', '/api/v1/services', 'read'],
    ['GET', '/api/v1/watch', 'read'],
    ['GET', '/api/v1/tokens', 'read'],
    ['GET', '/api/v1/certificates', 'read'],
    ['GET', '/v1/catalog/services', 'read'],
    ['GET', '/dashboardx', 'read'],
    ['PUT', '/api/v1/instances/a', 'mutate'],
    ['POST', '/api/v1/certificates', 'mutate'],
    ['POST', '/api/v1/tokens', 'mutate'],
    ['DELETE', '/api/v1/tokens/0123456789abcdef', 'mutate'],
    ['POST', '/healthz', 'mutate'],
    ['OPTIONS', '/api/v1/services', 'mutate'],
  ])('%s %s is %s', (method, path, expected) => {
    expect(accessClass(method, path)).toBe(expected);
  });
});
