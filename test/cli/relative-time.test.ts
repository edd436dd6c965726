// CLI: expiries said relative to now, as `weft certs` prints them.
import { describe, expect, it } from 'vitest';
import { formatExpiry, formatSpan } from '../../src/cli/relative-time.js';

describe('relative time', () => {
  it('keeps the two largest units of a span', () => {
    expect(formatSpan(42_900)).toBe('42s');
    expect(formatSpan(5 * 60_000 + 10_000)).toBe('5m 10s');
    expect(formatSpan(23 * 3_600_000 + 59 * 60_000 + 59_000)).toBe('23h 59m');
    expect(formatSpan(3 * 86_400_000 + 4 * 3_600_000 + 1)).toBe('3d 4h');
  });

  it('says whether an expiry is ahead or past', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(formatExpiry(now + 86_340_000, now)).toBe('in 23h 59m');
    expect(formatExpiry(now - 300_000, now)).toBe('expired 5m 0s ago');
    expect(formatExpiry(now, now)).toBe('expired 0s ago');
  });
});
