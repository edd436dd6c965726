// Test support: timers run by hand for RenewalTimer: `fire()` runs what is armed, as the event loop would once its delay passed.
import type { TimerHost } from '../../../src/security/tls/index.js';

export class HandTimers implements TimerHost {
  armed: { callback: () => void; delayMs: number } | null = null;
  set(callback: () => void, delayMs: number): unknown {
    return (this.armed = { callback, delayMs });
  }
  clear(handle: unknown): void {
    if (this.armed === handle) this.armed = null;
  }
  fire(): void {
    const armed = this.armed;
    this.armed = null;
    armed?.callback();
  }
}
