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

/**
 * The absolute deadline (clock ms) of a request that arrived at `now`: now + min(remaining from the header, the route
 * timeout). Undefined when neither applies.
 */
export function deadlineFrom(headers: HeaderBag, now: number, routeTimeoutMs?: number): number | undefined {
  const inbound = parseDeadlineHeader(headers[DEADLINE_HEADER]);
  const budget = inbound === undefined ? routeTimeoutMs : routeTimeoutMs === undefined ? inbound : Math.min(inbound, routeTimeoutMs);
  return budget === undefined ? undefined : now + budget;
}

/** Milliseconds left before the deadline (0 when passed; Infinity without a deadline). */
export function remaining(deadline: number | undefined, now: number): number {
  if (deadline === undefined) return Infinity;
  return Math.max(0, deadline - now);
}

/** A DeadlineExceededError when nothing remains, else null: checked before each attempt and each retry pause. */
export function checkDeadline(deadline: number | undefined, now: number): DeadlineExceededError | null {
  return deadline !== undefined && deadline - now <= 0 ? new DeadlineExceededError(deadline) : null;
}

/**
 * The header value for an outbound request: the remaining whole milliseconds (at least 1, so a hop with a sliver left
 * does not tell the next one that time is already up). Undefined without a deadline; throws DeadlineExceededError when
 * nothing remains.
 */
export function outboundDeadlineHeader(deadline: number | undefined, now: number): string | undefined {
  if (deadline === undefined) return undefined;
  const left = deadline - now;
  if (left <= 0) throw new DeadlineExceededError(deadline);
  return String(Math.max(1, Math.floor(left)));
}

/** The deadline of one attempt: the request's deadline, or sooner when a per-try timeout is set. */
export function attemptDeadline(deadline: number | undefined, now: number, perTryMs?: number): number | undefined {
  if (perTryMs === undefined) return deadline;
  const perTry = now + perTryMs;
  return deadline === undefined ? perTry : Math.min(deadline, perTry);
}

function parseOne(text: string): number | undefined {
  if (text.length === 0 || text.length > 15) return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}
