// Transport: tells an HTTP/2 connection with prior knowledge from an HTTP/1.x one by its first bytes, and hands the socket on unread.
import type { Socket } from 'node:net';

/** What every HTTP/2 connection opened with prior knowledge starts with (RFC 9113 3.4). */
export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export type SniffedProtocol = 'http1' | 'http2';

/**
 * Reads until the bytes differ from the preface (HTTP/1.x: usually the first byte) or match all of it (HTTP/2), then
 * pauses the socket and puts the bytes back, so whichever server takes it reads them first. A client that sends
 * nothing within `timeoutMs` (or closes) is closed here. Until then a reset from the peer is absorbed.
 */
export function sniffPreface(socket: Socket, timeoutMs: number, onProtocol: (protocol: SniffedProtocol, socket: Socket) => void, onSilent: () => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const ignore = (): void => {};
  const timer = setTimeout(() => {
    cleanUp();
    onSilent();
    socket.destroy();
  }, timeoutMs);
  const onData = (chunk: Buffer): void => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const compared = Math.min(seen.length, HTTP2_PREFACE.length);
    const matches = seen.compare(HTTP2_PREFACE, 0, compared, 0, compared) === 0;
    if (matches && seen.length < HTTP2_PREFACE.length) return;
    cleanUp();
    socket.pause();
    socket.unshift(seen);
    onProtocol(matches ? 'http2' : 'http1', socket);
  };
  const onClose = (): void => cleanUp();
  function cleanUp(): void {
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('close', onClose);
    socket.removeListener('error', ignore);
  }
  socket.on('error', ignore);
  socket.on('data', onData);
  socket.once('close', onClose);
  // A socket another sniffer paused (the mTLS listener's first-byte look) flows again.
  socket.resume();
}
