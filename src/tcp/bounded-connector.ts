// TCP: a connector held to one time limit for the whole of its work (TCP connect and, for mTLS, the handshake), whatever limit it keeps itself.
import type { Connector } from '../transport/index.js';

export class ConnectTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

/**
 * The callback gets the first of the connector's answer and the deadline; a socket that arrives after the deadline
 * has nobody waiting for it and is destroyed.
 */
export function boundedConnector(connector: Connector, timeoutMs: number): Connector {
  return (target, callback) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      callback(new ConnectTimeoutError(`connecting to ${target.host}:${target.port} took over ${timeoutMs} ms`), null);
    }, timeoutMs);
    connector(target, (error, socket) => {
      if (settled) {
        socket?.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      callback(error, socket);
    });
  };
}
