// TCP: a warning per event that cannot flood the log — a burst per window, then one line that says how many were left out.
import type { Logger } from 'pino';
import type { Clock } from '../core/index.js';

export const THROTTLED_LOG_DEFAULTS = { burst: 10, windowMs: 60_000 } as const;

/** Refused or failed connections come at the rate of whoever connects; their log lines must not. */
export class ThrottledLog {
  private windowStart = -Infinity;
  private logged = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly burst: number = THROTTLED_LOG_DEFAULTS.burst,
    private readonly windowMs: number = THROTTLED_LOG_DEFAULTS.windowMs,
  ) {}

  warn(fields: Record<string, unknown>, message: string): void {
    const now = this.clock.now();
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.logged = 0;
    }
    if (this.logged >= this.burst) {
      this.suppressed++;
      return;
    }
    this.logged++;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    this.logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}
