// Transport: what the client pools of every protocol share — how an endpoint is dialled (or found undialable), their errors, and the handler-bug report.
import { isWeftError, type WeftError } from '../core/index.js';
import { formatHostPort, isValidHost, isValidPort, printable, type Endpoint } from '../model/index.js';
import { tcpConnector, type Connector } from './connector.js';

/** An endpoint address that no URL or socket can take, from a registry that should have refused it. */
export class UndialableEndpointError extends Error {
  readonly code = 'ERR_WEFT_UNDIALABLE';
}

/** The pool was closed while a connection was being opened for it. */
export class PoolClosedError extends Error {
  readonly code = 'ERR_WEFT_POOL_CLOSED';
}

export const POOL_DEFAULTS = { idleTimeoutMs: 4_000, connectTimeoutMs: 1_000 } as const;

/**
 * How a pool opens its connections: the given connector, or plain TCP. An endpoint whose address no socket can take
 * gets a connector that always fails (after telling `onUndialable` once), so its attempts are retried elsewhere like a
 * refused connection.
 */
export function endpointConnector(
  endpoint: Pick<Endpoint, 'host' | 'port' | 'address'>,
  options: { readonly connect?: Connector; readonly connectTimeoutMs?: number; readonly onUndialable?: (address: string, reason: string) => void },
): Connector {
  if (isValidHost(endpoint.host) && isValidPort(endpoint.port)) return options.connect ?? tcpConnector(options.connectTimeoutMs ?? POOL_DEFAULTS.connectTimeoutMs);
  const reason = `"${printable(formatHostPort(endpoint.host, endpoint.port))}" is not a dialable address`;
  options.onUndialable?.(endpoint.address, reason);
  return (_target, callback) => queueMicrotask(() => callback(new UndialableEndpointError(reason), null));
}

/** The connector's typed refusal of the peer's certificate (mTLS): kept as it is, so it is answered and counted by its own code. */
export function isPeerRefusal(err: Error): err is WeftError {
  return isWeftError(err) && (err.code === 'PEER_IDENTITY_MISMATCH' || err.code === 'PEER_UNTRUSTED');
}

/** Where a handler's exception goes when the pool was given no `onHandlerError`: a process warning, never a crash. */
export function warnOfHandlerError(error: unknown): void {
  process.emitWarning(`a request-path handler threw while given a response; the attempt was given up: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
}
