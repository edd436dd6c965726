// Tests for the limits of TCP ports: defaults, overrides and their bounds.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/index.js';
import { resolveTcpLimits, TCP_LIMIT_BOUNDS, TCP_LIMIT_DEFAULTS } from '../../src/tcp/index.js';

describe('TCP limits', () => {
  it('gives the defaults, each within its bounds', () => {
    expect(resolveTcpLimits()).toEqual(TCP_LIMIT_DEFAULTS);
    for (const [key, { min, max }] of Object.entries(TCP_LIMIT_BOUNDS)) {
      const value = TCP_LIMIT_DEFAULTS[key as keyof typeof TCP_LIMIT_DEFAULTS];
      expect(value).toBeGreaterThanOrEqual(min);
      expect(value).toBeLessThanOrEqual(max);
    }
  });

  it('takes overrides and leaves undefined ones at the default', () => {
    expect(resolveTcpLimits({ idleTimeoutMs: 500, maxConnections: undefined })).toEqual({ ...TCP_LIMIT_DEFAULTS, idleTimeoutMs: 500 });
  });

  it('refuses values out of bounds or not whole, naming the setting', () => {
    expect(() => resolveTcpLimits({ maxConnections: 0 })).toThrow(ValidationError);
    expect(() => resolveTcpLimits({ connectAttempts: 11 })).toThrow(/connectAttempts: expected a whole number from 1 to 10/);
    expect(() => resolveTcpLimits({ detectTimeoutMs: 99.5 })).toThrow(/detectTimeoutMs/);
  });
});
