import { describe, it, expect } from 'vitest';
import { DeadlineExceededError } from '../../src/core/index.js';
import {
  DEADLINE_HEADER,
  attemptDeadline,
  checkDeadline,
  deadlineFrom,
  outboundDeadlineHeader,
  parseDeadlineHeader,
  remaining,
} from '../../src/resilience/index.js';

describe('deadline propagation', () => {
  it('names the header x-weft-deadline-ms', () => {
    expect(DEADLINE_HEADER).toBe('x-weft-deadline-ms');
  });

  it('takes the smaller of the inbound remaining time and the route timeout', () => {
    expect(deadlineFrom({ [DEADLINE_HEADER]: '300' }, 1_000, 2_000)).toBe(1_300);
    expect(deadlineFrom({ [DEADLINE_HEADER]: '5000' }, 1_000, 2_000)).toBe(3_000);
    expect(deadlineFrom({ [DEADLINE_HEADER]: '300' }, 1_000)).toBe(1_300);
    expect(deadlineFrom({}, 1_000, 2_000)).toBe(3_000);
    expect(deadlineFrom({}, 1_000)).toBeUndefined();
  });

  it('sets the outbound header to what is left after the time spent here', () => {
    const deadline = deadlineFrom({ [DEADLINE_HEADER]: '500' }, 10_000, 2_000);
    // 120 ms spent in this service before it calls the next one.
    expect(outboundDeadlineHeader(deadline, 10_120)).toBe('380');
    expect(remaining(deadline, 10_120)).toBe(380);
    expect(outboundDeadlineHeader(deadline, 10_499.6)).toBe('1');
    expect(outboundDeadlineHeader(undefined, 10_000)).toBeUndefined();
    expect(() => outboundDeadlineHeader(deadline, 10_500)).toThrow(DeadlineExceededError);
  });

  it('reports DEADLINE_EXCEEDED once nothing remains', () => {
    expect(checkDeadline(1_000, 999)).toBeNull();
    const exceeded = checkDeadline(1_000, 1_000);
    expect(exceeded?.code).toBe('DEADLINE_EXCEEDED');
    expect(checkDeadline(undefined, 1e12)).toBeNull();
    expect(remaining(1_000, 2_000)).toBe(0);
    expect(remaining(undefined, 2_000)).toBe(Infinity);
    // A caller that sent 0 has no time left at all.
    expect(checkDeadline(deadlineFrom({ [DEADLINE_HEADER]: '0' }, 50), 50)?.code).toBe('DEADLINE_EXCEEDED');
  });

  it('ignores malformed headers and takes the smallest of repeated ones', () => {
    for (const bad of ['', 'soon', '-5', 'Infinity', '1e400', '9999999999999999']) expect(parseDeadlineHeader(bad)).toBeUndefined();
    expect(parseDeadlineHeader(' 250 ')).toBe(250);
    expect(parseDeadlineHeader(['900', 'x', '250'])).toBe(250);
    expect(parseDeadlineHeader(undefined)).toBeUndefined();
    expect(deadlineFrom({ [DEADLINE_HEADER]: 'soon' }, 0, 100)).toBe(100);
  });

  it('bounds one attempt by the per-try timeout as well', () => {
    expect(attemptDeadline(5_000, 1_000, 500)).toBe(1_500);
    expect(attemptDeadline(1_200, 1_000, 500)).toBe(1_200);
    expect(attemptDeadline(undefined, 1_000, 500)).toBe(1_500);
    expect(attemptDeadline(1_200, 1_000)).toBe(1_200);
  });
});
