import { describe, it, expect } from 'vitest';
import { CircuitOpenError, DeadlineExceededError, FaultInjectedError, OverflowError, WeftError } from '../../src/core/index.js';
import { statusOf } from '../../src/http/index.js';

describe('rescue: policy decisions', () => {
  it('maps breaker, fault and deadline codes to their statuses', () => {
    expect(statusOf(new CircuitOpenError('greeter', 100))).toBe(503);
    expect(statusOf(new OverflowError('greeter', 'pending', 1))).toBe(503);
    expect(statusOf(new DeadlineExceededError(5))).toBe(504);
    expect(statusOf(new FaultInjectedError(418))).toBe(418);
    expect(statusOf(new FaultInjectedError(503))).toBe(503);
  });

  it('a fault without a usable status falls back to 500', () => {
    expect(statusOf(new WeftError('FAULT_INJECTED', 'odd', { details: { status: 'x' } }))).toBe(500);
    expect(statusOf(new WeftError('FAULT_INJECTED', 'odd', { details: { status: 42 } }))).toBe(500);
  });
});
