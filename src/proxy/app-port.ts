// Proxy: the app's port beside the sidecar's own listeners — a free one picked while they hold theirs, and a refusal of an app port that is one of theirs.
import { createServer } from 'node:net';
import type { ListenAddress } from '../config/index.js';
import { ConfigError } from '../core/index.js';
import { formatHostPort, hostsOverlap } from '../model/index.js';

/** One of the sidecar's listeners, named by the flag that sets it. */
export interface OwnListener {
  readonly flag: '--inbound' | '--outbound' | '--admin';
  readonly address: ListenAddress;
}

/**
 * The app's port is one of the sidecar's own listening ports: the app health check would be answered by the
 * sidecar (an app that never started would be registered as healthy) and the inbound listener would forward to itself.
 */
export class AppPortConflictError extends ConfigError {
  constructor(appHost: string, appPort: number, listener: OwnListener) {
    super(
      '--app-port',
      '',
      `${appPort} is the port of the sidecar's own ${listener.flag} listener (${formatHostPort(listener.address.host, listener.address.port)}), which the app's host ${appHost} reaches: ` +
        `health checks and inbound requests would be answered by the sidecar, not the app; give --app-port and ${listener.flag} different ports`,
    );
    this.name = 'AppPortConflictError';
  }
}

export function ownListeners(inbound: ListenAddress | undefined, outbound: ListenAddress, admin: ListenAddress): OwnListener[] {
  return [...(inbound ? [{ flag: '--inbound' as const, address: inbound }] : []), { flag: '--outbound', address: outbound }, { flag: '--admin', address: admin }];
}

/**
 * Throws AppPortConflictError when a connection to appHost:appPort could reach one of `listeners`. A listener on
 * port 0 is not bound yet and matches nothing; the sidecar checks again once every listener has its port.
 */
export function refuseOwnAppPort(appHost: string, appPort: number, listeners: readonly OwnListener[]): void {
  const own = listeners.find((listener) => listener.address.port === appPort && hostsOverlap(listener.address.host, appHost));
  if (own) throw new AppPortConflictError(appHost, appPort, own);
}

/** A port kept listening until released, so that no other bind on the machine is given it meanwhile. */
export interface PortReservation {
  readonly port: number;
  /** Idempotent. */
  release(): Promise<void>;
}

/** Lets the kernel pick a free port on `host` and holds it. */
export function reserveFreePort(host: string): Promise<PortReservation> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      let released: Promise<void> | undefined;
      resolve({ port, release: () => (released ??= new Promise<void>((done) => server.close(() => done()))) });
    });
  });
}

const RESERVE_ATTEMPTS = 8;

/**
 * A free port for the app on `host`, none of `avoid`'s ports whatever their hosts. Call it once the sidecar's
 * listeners are bound (or their fixed ports are in `avoid`) and release it only after the rest are bound: a port
 * merely seen free a moment before (the old way) could be the one a listener then took, and a TCP health check of
 * it would have reported the sidecar itself as a healthy app.
 */
export async function reserveAppPort(host: string, avoid: readonly ListenAddress[], reserve: (host: string) => Promise<PortReservation> = reserveFreePort): Promise<PortReservation> {
  const passedOver: PortReservation[] = [];
  try {
    for (let attempt = 0; attempt < RESERVE_ATTEMPTS; attempt++) {
      const reservation = await reserve(host);
      if (!avoid.some((address) => address.port === reservation.port)) return reservation;
      // Held until a good one is found, so that the kernel cannot offer the same port again.
      passedOver.push(reservation);
    }
    throw new ConfigError('--app-port', '', `no free port on ${host} for the app other than the sidecar's own after ${RESERVE_ATTEMPTS} tries; give --app-port`);
  } finally {
    await Promise.all(passedOver.map((reservation) => reservation.release()));
  }
}
