// Transport: how a client side opens its connections — plain TCP here, mTLS to a peer sidecar in security/tls — whatever protocol runs on them.
import { connect, type Socket } from 'node:net';

/** Where a connection goes: the host without IPv6 brackets, as node:net and node:tls take it. */
export interface ConnectTarget {
  readonly host: string;
  readonly port: number;
}

/** Called once: with the connected (and, for TLS, handshaken and verified) socket, or with why there is none. */
export type ConnectCallback = (error: Error | null, socket: Socket | null) => void;

/** Opens one connection; a connector keeps its own time limit and reports failures through the callback, never by throwing. */
export type Connector = (target: ConnectTarget, callback: ConnectCallback) => void;

/** TCP keep-alive probes after this long idle, so a peer that vanished mid-response is found out even without a body timeout. */
const KEEP_ALIVE_PROBE_AFTER_MS = 60_000;

class ConnectTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

/** Plain TCP, Nagle off (a proxy writes whole messages; waiting to coalesce only adds latency); a connection not up within `timeoutMs` fails. */
export function tcpConnector(timeoutMs: number): Connector {
  return (target, callback) => {
    let settled = false;
    const socket = connect({ host: target.host, port: target.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEP_ALIVE_PROBE_AFTER_MS });
    const timer = setTimeout(() => settle(new ConnectTimeoutError(`connecting to ${target.host}:${target.port} took over ${timeoutMs} ms`)), timeoutMs);
    function settle(error: Error | null): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('error', settle);
      if (error === null) {
        callback(null, socket);
      } else {
        socket.destroy();
        callback(error, null);
      }
    }
    socket.once('error', settle);
    socket.once('connect', () => settle(null));
  };
}
