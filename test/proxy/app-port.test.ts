// Proxy: the app's port never one of the sidecar's listening ports — picked while they hold theirs, and refused when configured as one of them.
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AppPortConflictError, ownListeners, refuseOwnAppPort, reserveAppPort, reserveFreePort, type PortReservation } from '../../src/proxy/app-port.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function listening(host = '127.0.0.1', port = 0): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

async function bindError(port: number): Promise<string | undefined> {
  try {
    await listening('127.0.0.1', port);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
}

describe('reserveAppPort', () => {
  it('passes over a port a listener of the sidecar holds, even when the kernel offers it', async () => {
    const outbound = await listening();
    const offered: PortReservation[] = [];
    let released = 0;
    // The kernel offering the outbound listener's port first is the race the old pick lost; here it is forced.
    const reserve = async (host: string): Promise<PortReservation> => {
      if (offered.length === 0) {
        const fake: PortReservation = { port: outbound, release: async () => void released++ };
        offered.push(fake);
        return fake;
      }
      const real = await reserveFreePort(host);
      offered.push(real);
      return real;
    };
    const chosen = await reserveAppPort('127.0.0.1', [{ host: '127.0.0.1', port: outbound }, { host: '127.0.0.1', port: 0 }], reserve);
    expect(chosen.port).not.toBe(outbound);
    expect(chosen).toBe(offered[1]);
    expect(released).toBe(1);
    await chosen.release();
  });

  it('holds the chosen port until released, so that a listener bound meanwhile cannot get it', async () => {
    const reservation = await reserveAppPort('127.0.0.1', []);
    expect(await bindError(reservation.port)).toBe('EADDRINUSE');
    await reservation.release();
    await reservation.release();
    expect(await bindError(reservation.port)).toBeUndefined();
  });

  it('gives up with a config error naming --app-port when every offer is a sidecar port', async () => {
    const reserve = async (): Promise<PortReservation> => ({ port: 15001, release: async () => {} });
    await expect(reserveAppPort('127.0.0.1', [{ host: '127.0.0.1', port: 15001 }], reserve)).rejects.toThrow(/--app-port/);
  });
});

describe('refuseOwnAppPort', () => {
  const listeners = ownListeners({ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 15001 }, { host: '0.0.0.0', port: 15000 });

  it('refuses the port of a listener the app host reaches, naming both flags', () => {
    expect(() => refuseOwnAppPort('127.0.0.1', 15001, listeners)).toThrow(AppPortConflictError);
    expect(() => refuseOwnAppPort('127.0.0.1', 15001, listeners)).toThrow(/--app-port: 15001 is the port of the sidecar's own --outbound listener \(127\.0\.0\.1:15001\)/);
    // A wildcard listener takes connections to every IPv4 address of the machine.
    expect(() => refuseOwnAppPort('127.0.0.5', 15000, listeners)).toThrow(/--admin listener \(0\.0\.0\.0:15000\)/);
    expect(() => refuseOwnAppPort('localhost', 15001, listeners)).toThrow(AppPortConflictError);
  });

  it('lets through other ports, unbound listeners and hosts the listener does not take', () => {
    expect(() => refuseOwnAppPort('127.0.0.1', 8080, listeners)).not.toThrow();
    expect(() => refuseOwnAppPort('127.0.0.2', 15001, listeners)).not.toThrow();
    expect(() => refuseOwnAppPort('::1', 15001, listeners)).not.toThrow();
  });
});
