// Tests: renewal at 2/3 of a certificate's lifetime, and the timer that fires at that instant by the injected clock.
import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../../src/core/index.js';
import { renewalTime, RenewalTimer } from '../../../src/security/tls/index.js';
import { HandTimers } from './hand-timers.js';

const HOUR_MS = 3_600_000;

describe('renewalTime', () => {
  it('is two thirds into the lifetime', () => {
    expect(renewalTime(0, 24 * HOUR_MS)).toBe(16 * HOUR_MS);
    expect(renewalTime(1_000, 4_000)).toBe(3_000);
  });

  it('is the start for a certificate that ends before it begins', () => {
    expect(renewalTime(5_000, 1_000)).toBe(5_000);
  });
});

describe('RenewalTimer', () => {
  it('fires once the clock reaches the instant, not before', () => {
    const clock = new ManualClock(1_000);
    const timers = new HandTimers();
    let fired = 0;
    const timer = new RenewalTimer(clock, () => fired++, timers);
    timer.schedule(1_000 + 16 * HOUR_MS);
    expect(timers.armed?.delayMs).toBe(16 * HOUR_MS);
    // The event loop woke early (a suspended laptop, a coarse timer): it waits again for the rest.
    clock.advance(10 * HOUR_MS);
    timers.fire();
    expect(fired).toBe(0);
    expect(timers.armed?.delayMs).toBe(6 * HOUR_MS);
    clock.advance(6 * HOUR_MS);
    timers.fire();
    expect(fired).toBe(1);
    expect(timer.scheduledAt).toBeNull();
  });

  it('waits in steps no longer than setTimeout allows', () => {
    const timers = new HandTimers();
    new RenewalTimer(new ManualClock(0), () => {}, timers).schedule(365 * 24 * HOUR_MS);
    expect(timers.armed?.delayMs).toBe(2_147_483_647);
  });

  it('fires at once for an instant already past, and not at all once stopped or rescheduled', () => {
    const clock = new ManualClock(10_000);
    const timers = new HandTimers();
    const fired: string[] = [];
    const timer = new RenewalTimer(clock, () => fired.push('due'), timers);
    timer.schedule(5_000);
    expect(timers.armed?.delayMs).toBe(0);
    const stale = timers.armed;
    timer.schedule(20_000);
    stale?.callback();
    expect(fired).toEqual([]);
    timer.stop();
    expect(timers.armed).toBeNull();
    timer.schedule(10_000);
    timers.fire();
    expect(fired).toEqual(['due']);
  });

  it('runs on real timers by default', async () => {
    const clock = systemClock;
    const due = new Promise<number>((resolve) => new RenewalTimer(clock, () => resolve(Date.now())).schedule(Date.now() + 30));
    const firedAt = await Promise.race([due, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 5_000))]);
    expect(firedAt).toBeGreaterThan(0);
  });
});
