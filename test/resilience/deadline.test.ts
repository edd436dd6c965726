import { describe, it, expect } from 'vitest';
import { DeadlineExceededError } from '../../src/core/index.js';
import { DEADLINE_HEADER, outboundDeadlineHeader, parseDeadlineHeader, remaining } from '../../src/resilience/index.js';

describe('deadline propagation', () => {
  it('names the header x-weft-deadline-ms', () => {
    expect(DEADLINE_HEADER).toBe('x-weft-deadline-ms');
  });

  it('sets the outbound header to what is left after the time spent here', () => {
    const deadline = 10_500;
    // 120 ms spent in this service before it calls the next one.
    expect(outboundDeadlineHeader(deadline, 10_120)).toBe('380');
    expect(remaining(deadline, 10_120)).toBe(380);
    expect(outboundDeadlineHeader(deadline, 10_499.6)).toBe('1');
    expect(outboundDeadlineHeader(undefined, 10_000)).toBeUndefined();
    expect(() => outboundDeadlineHeader(deadline, 10_500)).toThrow(DeadlineExceededError);
  });

  it('has nothing left once the deadline passed, and no bound without one', () => {
    expect(remaining(1_000, 999)).toBe(1);
    expect(remaining(1_000, 2_000)).toBe(0);
    expect(remaining(undefined, 2_000)).toBe(Infinity);
  });

  it('ignores malformed headers and takes the smallest of repeated ones', () => {
    for (const bad of ['', 'soon', '-5', 'Infinity', '1e400', '9999999999999999']) expect(parseDeadlineHeader(bad)).toBeUndefined();
    expect(parseDeadlineHeader(' 250 ')).toBe(250);
    expect(parseDeadlineHeader(['900', 'x', '250'])).toBe(250);
    expect(parseDeadlineHeader(undefined)).toBeUndefined();
  });
});
