// HTTP: the headers the mesh itself reads and writes between hops, and scans of raw header lists by name.
import type { RawHeaders } from './message.js';

/** The calling service, set by the caller's sidecar on every request it forwards (a claim until mTLS proves it). */
export const SOURCE_HEADER = 'x-weft-source';
/** Milliseconds the caller still waits, set on every forwarded request and read on every outbound one. */
export const DEADLINE_HEADER = 'x-weft-deadline-ms';
/** How many earlier attempts this request had at the hop that sent it (absent on a first attempt). */
export const RETRY_ATTEMPT_HEADER = 'x-weft-retry-attempt';
/** The code of an answer the mesh made itself rather than the application. */
export const ERROR_HEADER = 'x-weft-error';

/** Whether `name` (any case) equals `lower` (already lowercase), compared code by code: nothing is allocated. */
export function sameHeaderName(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let code = name.charCodeAt(i);
    if (code >= 65 && code <= 90) code += 32;
    if (code !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** The first value of a header in a raw list; undefined when absent. */
export function headerValue(raw: readonly string[], lower: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    if (sameHeaderName(raw[i]!, lower)) return raw[i + 1];
  }
  return undefined;
}

/** A copy of a raw list without any of the named headers (given in lower case). */
export function withoutHeaders(raw: readonly string[], lower: readonly string[]): RawHeaders {
  const out: RawHeaders = [];
  outer: for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    for (const drop of lower) if (sameHeaderName(name, drop)) continue outer;
    out.push(name, raw[i + 1]!);
  }
  return out;
}

const PER_HOP_MESH_HEADERS = [DEADLINE_HEADER, RETRY_ATTEMPT_HEADER] as const;

/** The headers without a caller's deadline and retry count, which each hop sets anew and never passes on beside its own. */
export function withoutPerHopMeshHeaders(raw: readonly string[]): RawHeaders {
  return withoutHeaders(raw, PER_HOP_MESH_HEADERS);
}

/** Whether a response came from a peer sidecar whose application is down (its 503 carries this code). */
export function isPeerAppUnavailable(status: number, raw: readonly string[]): boolean {
  if (headerValue(raw, ERROR_HEADER) !== 'APP_UNAVAILABLE') return false;
  // A gRPC caller is told in a Trailers-Only 200 with UNAVAILABLE; an app's own 200 that carries the header is not it.
  return status === 503 || (status === 200 && headerValue(raw, 'grpc-status') === '14');
}
