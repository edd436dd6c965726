// Transport/http2: header lists between the request path's raw form and node:http2's objects, per RFC 9113 8.2 (no connection-specific fields, lower-case names, pseudo-headers apart).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { RawHeaders } from '../../http/index.js';

/** Fields that describe one HTTP/1.1 connection and make an HTTP/2 message malformed (RFC 9113 8.2.2); `te` is allowed as "trailers" only. */
function isConnectionSpecific(lower: string, value: string): boolean {
  switch (lower) {
    case 'connection':
    case 'keep-alive':
    case 'proxy-connection':
    case 'transfer-encoding':
    case 'upgrade':
    case 'http2-settings':
      return true;
    case 'te':
      return value.trim().toLowerCase() !== 'trailers';
    default:
      return false;
  }
}

/**
 * A raw header list as node:http2 takes it: names lower-cased, repeats gathered into arrays, connection-specific
 * fields and any name in `skip` left out (the request's Host, which travels as :authority).
 */
export function toHttp2Headers(raw: readonly string[], into: OutgoingHttpHeaders, skip?: string): OutgoingHttpHeaders {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (name === skip || name.charCodeAt(0) === 0x3a /* : */ || isConnectionSpecific(name, value)) continue;
    const previous = into[name];
    if (previous === undefined) into[name] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else into[name] = [String(previous), value];
  }
  return into;
}

/** Regular fields of a node:http2 header object as a raw list, pseudo-headers left out. */
export function fromHttp2Headers(headers: IncomingHttpHeaders): RawHeaders {
  const raw: RawHeaders = [];
  for (const name in headers) {
    if (name.charCodeAt(0) === 0x3a /* : */) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) raw.push(name, item);
    else raw.push(name, value);
  }
  return raw;
}

/** Bytes of a header block as HPACK decoded it (RFC 9113 6.5.2: name, value and 32 per field), from a raw list. */
export function headerListSize(raw: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < raw.length; i++) size += raw[i]!.length;
  return size + 16 * raw.length;
}
