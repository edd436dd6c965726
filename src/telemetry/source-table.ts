// Telemetry: the calling service a request announces in x-weft-source, and the per-caller metric children of an inbound server, capped.
import { SERVICE_NAME } from '../model/index.js';
import { UNKNOWN_SERVICE } from './proxy-metrics.js';
import { headerValue, sameHeaderName, SOURCE_HEADER } from '../http/index.js';

export { SOURCE_HEADER };

/** Label value for the callers beyond the cap: a hostile caller cycling names must not grow the series without bound. */
export const OTHER_SOURCES = '_other';

/** Distinct calling services bound per inbound server before the rest share OTHER_SOURCES. */
export const MAX_SOURCES = 256;

/** Replaces every x-weft-source in raw [name, value, ...] headers with `source`, or removes them when `source` is ''. */
export function announceSource(headers: string[], source: string): void {
  let to = 0;
  for (let from = 0; from < headers.length; from += 2) {
    const name = headers[from]!;
    if (sameHeaderName(name, SOURCE_HEADER)) continue;
    if (to !== from) {
      headers[to] = name;
      headers[to + 1] = headers[from + 1]!;
    }
    to += 2;
  }
  headers.length = to;
  if (source !== '') headers.push(SOURCE_HEADER, source);
}

/** The first x-weft-source value in raw [name, value, ...] headers, as sent (unchecked); undefined when absent. */
export function claimedSource(headers: readonly string[]): string | undefined {
  return headerValue(headers, SOURCE_HEADER);
}

/** The claimed source if it is a well-formed service name, else ''. For logs, which carry no cardinality cost. */
export function validSource(claimed: string | undefined): string {
  return claimed !== undefined && SERVICE_NAME.test(claimed) ? claimed : '';
}

/**
 * What one inbound server binds per calling service, built on first sight of each. A name that is not a service
 * name binds as UNKNOWN_SERVICE; names past the cap bind as OTHER_SOURCES. Lookups of a seen name cost one Map get.
 */
export class SourceTable<T> {
  private readonly bound = new Map<string, T>();
  private unknown: T | undefined;
  private other: T | undefined;

  constructor(
    private readonly bind: (source: string) => T,
    private readonly cap: number = MAX_SOURCES,
  ) {}

  of(claimed: string | undefined): T {
    if (claimed === undefined) return (this.unknown ??= this.bind(UNKNOWN_SERVICE));
    const seen = this.bound.get(claimed);
    if (seen !== undefined) return seen;
    if (!SERVICE_NAME.test(claimed)) return (this.unknown ??= this.bind(UNKNOWN_SERVICE));
    if (this.bound.size >= this.cap) return (this.other ??= this.bind(OTHER_SOURCES));
    const made = this.bind(claimed);
    this.bound.set(claimed, made);
    return made;
  }
}
