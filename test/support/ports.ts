// Test support: free TCP ports on loopback, for servers that cannot be told to listen on port 0 themselves.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/**
 * Where ports are picked: below the kernel's ephemeral range. A port from that range, freed a moment ago, is what the
 * kernel hands out next as the local port of an outgoing connection or another `listen(0)`, and a sidecar under
 * test makes many of those; a port below it is taken only by someone binding it by number.
 */
const PICK_FROM = 20_000;
const pickBelow = ephemeralLow();
/** Ports this process handed out already: never handed out twice. */
const handedOut = new Set<number>();

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > PICK_FROM + 1_000 ? low : 0;
  } catch {
    return 0;
  }
}

function listen(server: Server, port: number, host: string): Promise<number | null> {
  return new Promise((resolve) => {
    server.once('error', () => resolve(null));
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      resolve(address === null || typeof address === 'string' ? null : address.port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
}

/** A port bound by a throwaway listener, kept open until the caller is done picking; below the ephemeral range when there is one. */
async function holdOne(host: string): Promise<{ server: Server; port: number }> {
  const server = createServer();
  server.unref();
  if (pickBelow > 0) {
    // Random probes, bounded: a crowded range falls back to the kernel's pick.
    for (let i = 0; i < 50; i++) {
      const candidate = PICK_FROM + Math.floor(Math.random() * (pickBelow - PICK_FROM));
      if (handedOut.has(candidate)) continue;
      const port = await listen(server, candidate, host);
      if (port !== null) return { server, port };
    }
  }
  const port = await listen(server, 0, host);
  if (port === null) throw new Error(`no free port on ${host}`);
  return { server, port };
}

/**
 * A port that was free a moment ago. Another process could still bind it by number before the caller does; picked
 * below the ephemeral range, it is not one the kernel gives out by itself. Prefer `listen(0)` wherever the server
 * under test allows it.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return (await freePorts(1, host))[0]!;
}

/** `count` distinct free ports (held open together, so no duplicates within one call). */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const held: { server: Server; port: number }[] = [];
  try {
    for (let i = 0; i < count; i++) held.push(await holdOne(host));
    for (const { port } of held) handedOut.add(port);
    return held.map(({ port }) => port);
  } finally {
    await Promise.all(held.map(({ server }) => close(server)));
  }
}
