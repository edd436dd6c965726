// Transport/http1: keep-alive connection pools (undici), one per endpoint address, retired when the endpoint leaves.
import type { Socket } from 'node:net';
import { buildConnector, Pool } from 'undici';
import { systemClock, type Clock } from '../../core/index.js';
import type { MeshRequest, ResponseHandler } from '../../http/index.js';
import { formatHostPort, isValidHost, isValidPort, printable, type Endpoint } from '../../model/index.js';
import { Http1Attempt } from './client-attempt.js';

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
   * Opens the pool's connections instead of undici's plain TCP connector, e.g. mTLS to a peer sidecar
   * (`mtlsConnector`); it keeps its own handshake timeout. `onSocket` still hears of each connection.
   */
  connect?: buildConnector.connector;
  /** Told once per pool whose endpoint cannot be dialled at all (its every attempt then fails as a connect failure). */
  onUndialable?: (address: string, reason: string) => void;
  /** Times each attempt's wait for response headers; the system clock unless told. */
  clock?: Clock;
}

/** An endpoint address that no URL or socket can take, from a registry that should have refused it. */
export class UndialableEndpointError extends Error {
  readonly code = 'ERR_WEFT_UNDIALABLE';
}

export const POOL_DEFAULTS = { idleTimeoutMs: 4_000, connectTimeoutMs: 1_000 } as const;

/**
 * One endpoint's connections: the HTTP/1.1 client adapter of the request path. Requests go out through undici's
 * `dispatch()` with a raw handler: no ClientRequest, no agent queue, and the head goes out with its body in one write.
 */
export class EndpointPool {
  readonly dispatcher: Pool;
  readonly clock: Clock;
  readonly host: string;
  readonly port: number;
  readonly address: string;
  private retired = false;

  constructor(endpoint: Pick<Endpoint, 'host' | 'port' | 'address'>, options: PoolOptions = {}) {
    this.host = endpoint.host;
    this.port = endpoint.port;
    this.address = endpoint.address;
    this.clock = options.clock ?? systemClock;
    const connectTimeout = options.connectTimeoutMs ?? POOL_DEFAULTS.connectTimeoutMs;
    const dialable = isValidHost(endpoint.host) && isValidPort(endpoint.port);
    if (!dialable) {
      const reason = `"${printable(formatHostPort(endpoint.host, endpoint.port))}" is not a dialable address`;
      options.onUndialable?.(endpoint.address, reason);
      // A pool that never dials: each attempt fails before it connects, so it is retried elsewhere like a refused connection.
      options = { ...options, connect: (_options, callback) => queueMicrotask(() => callback(new UndialableEndpointError(reason), null)) };
    }
    this.dispatcher = new Pool(dialable ? `http://${formatHostPort(endpoint.host, endpoint.port)}` : 'http://undialable.invalid', {
      // One request per connection at a time: a slow response never holds back another request.
      pipelining: 1,
      keepAliveTimeout: options.idleTimeoutMs ?? POOL_DEFAULTS.idleTimeoutMs,
      ...connectOptions(connectTimeout, options),
      // The exchange times responses itself (from the end of the request body); bodies may stream for long.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  /** Sends one attempt of the request; its answer, or its failure as a WeftError, reaches the handler. */
  dispatch(req: MeshRequest, handler: ResponseHandler): void {
    const attempt = new Http1Attempt(req, handler, this);
    req.pending = attempt;
    const body = req.body === null ? null : req.body.open();
    // Errors, even those undici raises at once, arrive through the attempt's onError.
    this.dispatcher.dispatch({ path: req.path, method: req.method, headers: req.headers, body }, attempt);
  }

  get isRetired(): boolean {
    return this.retired;
  }

  /** Idle sockets now; busy ones close as their requests end. */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    this.dispatcher.close().catch(() => {});
  }

  /** Every socket now, busy ones included. */
  destroy(): void {
    this.retired = true;
    this.dispatcher.destroy().catch(() => {});
  }

  /** Sockets open to the endpoint: [busy, idle]. */
  sockets(): [number, number] {
    const stats = this.dispatcher.stats;
    return [stats.connected - stats.free, stats.free];
  }
}

function connectOptions(timeout: number, options: PoolOptions): { connect: buildConnector.connector } | { connectTimeout: number } {
  if (options.connect) return { connect: options.onSocket ? observed(options.connect, options.onSocket) : options.connect };
  return options.onSocket ? { connect: observed(buildConnector({ timeout }), options.onSocket) } : { connectTimeout: timeout };
}

/** A connector (undici's own, as Pool builds it from `connectTimeout`, or a given one) telling `onSocket` of each connection it makes. */
function observed(connect: buildConnector.connector, onSocket: (socket: Socket) => void): buildConnector.connector {
  return (options, callback) =>
    connect(options, (...args) => {
      if (args[0] === null) onSocket(args[1]);
      callback(...args);
    });
}

/** The pools of one upstream service, keyed by endpoint address. */
export class EndpointPools {
  private readonly pools = new Map<string, EndpointPool>();
  constructor(
    private readonly options: PoolOptions = {},
    /** The connector of one endpoint's pool (mTLS expecting that endpoint's identity); absent: `options.connect` or plain TCP. */
    private readonly connectFor?: (endpoint: Endpoint) => buildConnector.connector,
  ) {}

  get(endpoint: Endpoint): EndpointPool {
    let pool = this.pools.get(endpoint.address);
    if (pool === undefined) {
      const options = this.connectFor ? { ...this.options, connect: this.connectFor(endpoint) } : this.options;
      this.pools.set(endpoint.address, (pool = new EndpointPool(endpoint, options)));
    }
    return pool;
  }

  /** Retires every pool: idle sockets now, busy ones as their requests end (the set is being replaced). */
  retireAll(): void {
    for (const pool of this.pools.values()) pool.retire();
    this.pools.clear();
  }

  /** Retires the pools of addresses no longer among `endpoints`. */
  retain(endpoints: readonly Endpoint[]): void {
    if (this.pools.size === 0) return;
    const live = new Set<string>();
    for (const endpoint of endpoints) live.add(endpoint.address);
    for (const [address, pool] of this.pools) {
      if (live.has(address)) continue;
      this.pools.delete(address);
      pool.retire();
    }
  }

  addresses(): string[] {
    return [...this.pools.keys()];
  }

  destroy(): void {
    for (const pool of this.pools.values()) pool.destroy();
    this.pools.clear();
  }
}
