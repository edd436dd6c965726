// TCP: closing a connection the port will not carry — a FIN first, so the client reads a clean end, and a bounded wait before the socket is destroyed.
import type { Socket } from 'node:net';

/** How long a refused client has to close its side after our FIN before the socket is destroyed. */
export const CLOSE_GRACE_MS = 1_000;

/** Ends the socket (a TLS one sends close_notify first), drops whatever the client still sends, and destroys it after graceMs at the latest. */
export function closeGently(socket: Socket, graceMs: number = CLOSE_GRACE_MS): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), graceMs);
  socket.once('close', () => clearTimeout(timer));
  socket.on('error', () => socket.destroy());
  socket.resume();
  socket.end();
}
