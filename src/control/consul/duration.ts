// Consul API: Go-style durations ("10s", "1m30s", "250ms"), as Consul bodies and ?wait= spell them.
import { ValidationError } from '../../core/index.js';

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const WHOLE = /^(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h)(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))*$/;
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g;

/**
 * Milliseconds of a Go duration string. A bare number is read as Go's JSON encoding of a
 * time.Duration (nanoseconds), and a bare numeric string as seconds, which is what Consul's ?wait= allows.
 */
export function parseDuration(value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new ValidationError(field, 'expected a non-negative duration');
    return value / 1e6;
  }
  if (typeof value !== 'string') throw new ValidationError(field, 'expected a duration such as "10s" or "1m30s"');
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1_000;
  if (!WHOLE.test(text)) throw new ValidationError(field, `"${value}" is not a duration such as "10s", "500ms" or "1m30s"`);
  let ms = 0;
  for (const match of text.matchAll(PART)) ms += Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? 1_000);
  return ms;
}

/** "10s", "1m30s": how Consul prints a duration back. */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h0m0s`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m0s`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}
