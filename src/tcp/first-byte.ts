// TCP: tells a TLS client from a plaintext one on a shared port by the first byte it sends — or by its silence, for protocols where the server speaks first.
import type { Socket } from 'node:net';
import type { Clock } from '../core/index.js';

/** The first byte of every TLS record carrying a handshake; a ClientHello opens the connection with one. */
export const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * `tls` or `plaintext`: by the first byte; `silent`: nothing came within the wait (a client waiting to be greeted);
 * `ended`: the client sent its FIN before any byte; `closed`: the connection is gone.
 */
export type FirstByte = 'tls' | 'plaintext' | 'silent' | 'ended' | 'closed';

/**
 * Reads the first chunk of a paused socket and puts it back, so that whoever takes the socket next (a TLS server,
 * a relay) reads it from the start. `decide` runs once, with the socket paused again.
 */
export function sniffFirstByte(socket: Socket, waitMs: number, clock: Clock, decide: (what: FirstByte) => void): void {
  let settled = false;
  const settle = (what: FirstByte): void => {
    if (settled) return;
    settled = true;
    clock.clearTimer(timer);
    // Paused before the listeners go: a flowing socket with no 'data' listener would drop what it reads.
    socket.pause();
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.removeListener('close', onClose);
    decide(what);
  };
  const onData = (chunk: Buffer): void => {
    socket.pause();
    socket.unshift(chunk);
    settle(chunk[0] === TLS_HANDSHAKE_RECORD ? 'tls' : 'plaintext');
  };
  const onEnd = (): void => settle('ended');
  const onClose = (): void => settle('closed');
  const timer = clock.setTimer(settle, waitMs, 'silent' as FirstByte);
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', onClose);
  socket.resume();
}
