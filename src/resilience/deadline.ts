// Resilience: deadline propagation — the time a caller still waits travels in a header, so nested calls stop early.
import { DeadlineExceededError } from '../core/index.js';
import { DEADLINE_HEADER } from '../http/index.js';

export { DEADLINE_HEADER };

export type HeaderValue = string | readonly string[] | undefined;
export interface HeaderBag {
  readonly [name: string]: HeaderValue;
}

/**
 * The remaining milliseconds a header value carries, or undefined when it is absent or not a number ≥ 0 (a bad header
 * from outside must not fail the request: it is ignored, and the route's own timeout applies). Repeated values: the
 * smallest wins.
 */
export function parseDeadlineHeader(value: HeaderValue): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return parseOne(value);
  let smallest: number | undefined;
  for (const one of value) {
    const parsed = parseOne(one);
    if (parsed !== undefined && (smallest === undefined || parsed < smallest)) smallest = parsed;
  }
  return smallest;
}

/** Milliseconds left before the deadline (0 when passed; Infinity without a deadline). */
export function remaining(deadline: number | undefined, now: number): number {
  if (deadline === undefined) return Infinity;
  return Math.max(0, deadline - now);
}

/**
 * The header value for an outbound request: the remaining whole milliseconds (at least 1, so a hop with a sliver left
 * does not tell the next one that time is already up). Undefined without a deadline; throws DeadlineExceededError when
 * nothing remains (the caller checks `remaining` first).
 */
export function outboundDeadlineHeader(deadline: number | undefined, now: number): string | undefined {
  if (deadline === undefined) return undefined;
  const left = deadline - now;
  if (left <= 0) throw new DeadlineExceededError(deadline);
  return String(Math.max(1, Math.floor(left)));
}

function parseOne(text: string): number | undefined {
  if (text.length === 0 || text.length > 15) return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}
