// Transport/http1: keep-alive connections to one endpoint address (the client side of the request path), retired when the endpoint leaves.
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../../core/index.js';
import type { MeshRequest, ResponseHandler } from '../../http/index.js';
import { formatHostPort, isValidHost, isValidPort, type Endpoint } from '../../model/index.js';
import type { Connector } from '../connector.js';
import { endpointConnector, PoolClosedError, POOL_DEFAULTS, warnOfHandlerError } from '../pool-support.js';

export { POOL_DEFAULTS, UndialableEndpointError } from '../pool-support.js';
import { Http1Attempt } from './client-attempt.js';
import { Http1ClientConnection, type ConnectionOwner } from './client-connection.js';

export interface PoolOptions {
  /**
   * How long an idle socket is kept. Shorter than common server keep-alive timeouts (Node's 5 s, our
   * inbound 10 s) so that this side closes first and never reuses a socket the server is closing;
   * a shorter `Keep-Alive: timeout=N` hint from the server is honoured too.
   */
  idleTimeoutMs?: number;
  /** A fresh connection that is not up within this time is a connect failure. */
  connectTimeoutMs?: number;
  /** Called with every connection the pool opens, once it is up (for connection and byte metrics). */
  onSocket?: (socket: Socket) => void;
  /**
   * Opens the pool's connections instead of plain TCP, e.g. mTLS to a peer sidecar (`mtlsConnector`); it keeps
   * its own handshake timeout. `onSocket` still hears of each connection.
   */
  connect?: Connector;
  /** Told once per pool whose endpoint cannot be dialled at all (its every attempt then fails as a connect failure). */
  onUndialable?: (address: string, reason: string) => void;
  /** Times each attempt's wait for response headers; the system clock unless told. */
  clock?: Clock;
  /**
   * Told of an exception thrown by a handler above the pool while it was given a response (a bug in a stage): the
   * attempt is given up and the process stays up. Without it, the exception is printed as a process warning.
   */
  onHandlerError?: (error: unknown) => void;
}


/** How often idle connections are looked over; a connection is closed up to this much before its idle time is up, never after. */
const IDLE_SWEEP_MS = 250;
/** Taken off a server's Keep-Alive hint, so a connection is closed here before the server closes it. */
const KEEP_ALIVE_HINT_MARGIN_MS = 1_000;

function sweepIdle(pool: EndpointPool): void {
  pool.sweep();
}

/** Connections a sweep closes, gathered first: closing one calls back into the pool's lists. */
const expired: Http1ClientConnection[] = [];


/**
 * One endpoint's connections: the HTTP/1.1 client adapter of the request path. A request takes the most recently used
 * idle connection or opens one (the concrete stage bounds how many); the head goes out with a small body in one write.
 */
export class EndpointPool implements ConnectionOwner {
  readonly clock: Clock;
  readonly host: string;
  readonly port: number;
  readonly address: string;
  readonly defaultHost: string;
  private readonly connect: Connector;
  private readonly onSocket: ((socket: Socket) => void) | undefined;
  private readonly idleTimeoutMs: number;
  private readonly connections = new Set<Http1ClientConnection>();
  /** Idle connections, the most recently used last. */
  private readonly idle: Http1ClientConnection[] = [];
  private sweepTimer: NodeJS.Timeout | null = null;
  private retired = false;
  private destroyed = false;
  readonly onHandlerError: (error: unknown) => void;

  constructor(endpoint: Pick<Endpoint, 'host' | 'port' | 'address'>, options: PoolOptions = {}) {
    this.host = endpoint.host;
    this.port = endpoint.port;
    this.address = endpoint.address;
    this.clock = options.clock ?? systemClock;
    this.idleTimeoutMs = options.idleTimeoutMs ?? POOL_DEFAULTS.idleTimeoutMs;
    this.onSocket = options.onSocket;
    this.onHandlerError = options.onHandlerError ?? warnOfHandlerError;
    this.defaultHost = isValidHost(endpoint.host) && isValidPort(endpoint.port) ? formatHostPort(endpoint.host, endpoint.port) : 'undialable.invalid';
    this.connect = endpointConnector(endpoint, options);
  }

  /** Sends one attempt of the request; its answer, or its failure as a WeftError, reaches the handler. */
  dispatch(req: MeshRequest, handler: ResponseHandler): void {
    const attempt = new Http1Attempt(req, handler, this);
    req.pending = attempt;
    const idle = this.takeIdle();
    if (idle !== undefined) idle.send(attempt);
    else this.open(attempt);
  }

  /** The most recently used idle connection still within its time; those past it (a sweep not yet run) are closed. */
  private takeIdle(): Http1ClientConnection | undefined {
    let connection = this.idle.pop();
    while (connection !== undefined && connection.idleUntil <= performance.now()) {
      connection.abort();
      connection = this.idle.pop();
    }
    return connection;
  }

  get isRetired(): boolean {
    return this.retired;
  }

  /** Idle sockets now; busy ones close as their requests end. */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    for (const connection of this.idle.splice(0)) connection.abort();
    this.stopSweeping();
  }

  /** Every socket now, busy ones included: their requests fail, as do those waiting for a connection. */
  destroy(): void {
    this.retire();
    this.destroyed = true;
    for (const connection of [...this.connections]) connection.close(new PoolClosedError(`the pool of ${this.address} was closed`));
  }

  /** Sockets open to the endpoint: [busy, idle]. */
  sockets(): [number, number] {
    return [this.connections.size - this.idle.length, this.idle.length];
  }

  // ConnectionOwner

  release(connection: Http1ClientConnection, keepAliveHintMs: number): void {
    let keepMs = this.idleTimeoutMs;
    if (keepAliveHintMs >= 0) keepMs = Math.min(keepMs, keepAliveHintMs - KEEP_ALIVE_HINT_MARGIN_MS);
    if (this.retired || keepMs <= IDLE_SWEEP_MS || connection.isClosed) {
      connection.abort();
      return;
    }
    connection.idleUntil = performance.now() + keepMs - IDLE_SWEEP_MS;
    this.idle.push(connection);
    if (this.sweepTimer === null) this.sweepTimer = setTimeout(sweepIdle, IDLE_SWEEP_MS, this).unref();
  }

  forget(connection: Http1ClientConnection): void {
    this.connections.delete(connection);
    const at = this.idle.indexOf(connection);
    if (at !== -1) this.idle.splice(at, 1);
  }

  /** @internal closes connections idle for their time. */
  sweep(): void {
    this.sweepTimer = null;
    const now = performance.now();
    // Every one is looked at: a server's Keep-Alive hint gives a later connection a shorter time than an earlier one.
    const idle = this.idle;
    let kept = 0;
    for (let i = 0; i < idle.length; i++) {
      const connection = idle[i]!;
      if (connection.idleUntil > now) idle[kept++] = connection;
      else expired.push(connection);
    }
    idle.length = kept;
    for (const connection of expired.splice(0)) connection.abort();
    if (idle.length > 0 && !this.retired) this.sweepTimer = setTimeout(sweepIdle, IDLE_SWEEP_MS, this).unref();
  }

  private open(attempt: Http1Attempt): void {
    if (this.retired) {
      attempt.onConnectFailed(new PoolClosedError(`the pool of ${this.address} is closed`));
      return;
    }
    this.connect({ host: this.host, port: this.port }, (error, socket) => {
      if (error !== null || socket === null) {
        attempt.onConnectFailed(error ?? new Error('the connector gave no socket'));
        return;
      }
      if (this.destroyed) {
        socket.destroy();
        attempt.onConnectFailed(new PoolClosedError(`the pool of ${this.address} was closed`));
        return;
      }
      const connection = new Http1ClientConnection(socket, this);
      this.connections.add(connection);
      this.onSocket?.(socket);
      // Cancelled while it waited: the connection is kept for the next request.
      if (attempt.isDone) this.release(connection, -1);
      else connection.send(attempt);
    });
  }

  private stopSweeping(): void {
    if (this.sweepTimer !== null) {
      clearTimeout(this.sweepTimer);
      this.sweepTimer = null;
    }
  }
}
