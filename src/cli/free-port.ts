// CLI: asks the kernel for a free TCP port on a loopback host.
import { createServer } from 'node:net';
import { reserveFreePort } from '../proxy/app-port.js';

/** Free a moment ago, not held: only for ports handed to other processes, which must bind them themselves. */
export async function freeLoopbackPort(host = '127.0.0.1'): Promise<number> {
  const reservation = await reserveFreePort(host);
  await reservation.release();
  return reservation.port;
}

/** The preferred port when it is free, else any free port. */
export function preferredPort(preferred: number, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(freeLoopbackPort(host)));
    server.listen(preferred, host, () => server.close(() => resolve(preferred)));
  });
}
