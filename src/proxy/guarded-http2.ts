// Proxy: the HTTP/2 sessions of a sidecar listener, under the listener's limits, their refusals counted with its rejections.
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { ListenerGuard } from '../listener/index.js';
import { Http2Sessions } from '../transport/index.js';

/** Sessions whose idle and stream timeouts are the listener's idle and request timeouts. */
export function guardedHttp2Sessions(guard: ListenerGuard, onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]) => void): Http2Sessions {
  const { limits, rejections } = guard;
  return new Http2Sessions({
    limits: { idleTimeoutMs: limits.idleTimeoutMs, streamIdleTimeoutMs: limits.requestTimeoutMs },
    onStream: (stream, headers, _flags, rawHeaders) => onStream(stream, headers, rawHeaders),
    onStreamTimeout: () => rejections.record('request_timeout', 'an HTTP/2 stream was answered 408: nothing moved on it in time'),
    onHeadersTooLarge: () => rejections.record('headers_too_large', 'an HTTP/2 request was refused: its head is larger than this listener accepts'),
    onAbuse: (reason) => rejections.record('http2_abuse', `an HTTP/2 session was closed: ${reason}`),
  });
}
