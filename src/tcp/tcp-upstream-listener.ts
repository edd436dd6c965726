// TCP: the outbound port of one upstream service — each accepted connection carried as raw bytes to a passing instance, picked per connection, failing over on connect.
import type { Socket } from 'node:net';
import { ConnectFailedError, isWeftError, type Outcome, type Runtime, type WeftError } from '../core/index.js';
import type { BalancerKind, SnapshotSource } from '../model/index.js';
import type { MeshTls } from '../security/tls/index.js';
import { PortConnection } from './port-connection.js';
import type { TcpLimitOverrides } from './tcp-limits.js';
import { TcpPort } from './tcp-port.js';
import type { TcpRefusal } from './tcp-proxy-metrics.js';
import type { TcpAddress, TcpServer } from './tcp-server.js';
import { TcpUpstreamEndpoints } from './tcp-upstream-endpoints.js';

export interface TcpUpstreamListenerOptions {
  readonly runtime: Runtime;
  readonly snapshots: SnapshotSource;
  /** The service whose instances the port carries to; only its passing instances that speak `tcp` are used. */
  readonly service: string;
  /** Dial mTLS when the service's mode (its policy's `mtls`, else the mesh default) says so; absent: plaintext always. */
  readonly mtls?: MeshTls;
  /** The algorithm when the service's policy leaves it at the default (the sidecar's --lb for this service). */
  readonly balancer?: BalancerKind;
  readonly limits?: TcpLimitOverrides;
}

/**
 * Opens one local port for one service. The upstream is dialled as soon as a connection is accepted, before any of
 * the client's bytes are read, so server-speaks-first protocols (SMTP, MySQL, a Redis replica's handshake) get
 * their greeting through; the client's first bytes wait in the kernel meanwhile.
 */
export function createTcpUpstreamListener(options: TcpUpstreamListenerOptions): TcpServer {
  return new TcpUpstreamListener(options);
}

class TcpUpstreamListener implements TcpServer {
  readonly port: TcpPort;
  readonly endpoints: TcpUpstreamEndpoints;

  constructor(readonly options: TcpUpstreamListenerOptions) {
    const { runtime, service } = options;
    this.port = new TcpPort({
      runtime,
      direction: 'outbound',
      service,
      limits: options.limits,
      logBindings: { listener: 'tcp-outbound', upstream: service },
      accept: (port, socket) => {
        const connection = new UpstreamConnection(this, port, socket);
        connection.start();
        return connection;
      },
    });
    this.endpoints = new TcpUpstreamEndpoints({
      runtime,
      snapshots: options.snapshots,
      service,
      connectTimeoutMs: this.port.limits.connectTimeoutMs,
      ...(options.balancer !== undefined ? { balancer: options.balancer } : {}),
      ...(options.mtls !== undefined ? { mtls: options.mtls } : {}),
    });
  }

  listen(host: string, port: number): Promise<TcpAddress> {
    return this.port.listen(host, port);
  }

  async close(drainMs: number): Promise<void> {
    this.endpoints.close();
    await this.port.close(drainMs);
  }

  inFlight(): number {
    return this.port.inFlight();
  }
}

/** One accepted connection: the endpoints tried for it in turn, then the relay. */
class UpstreamConnection extends PortConnection {
  private attempt = 0;
  private readonly tried = new Set<string>();
  private lastError: WeftError | undefined;

  constructor(
    private readonly listener: TcpUpstreamListener,
    port: TcpPort,
    downstream: Socket,
  ) {
    super(port, downstream);
  }

  start(): void {
    this.next();
  }

  /** Picks an endpoint not tried yet and connects to it; bounded by connectAttempts and by how many endpoints there are. */
  private next(): void {
    if (this.over) return;
    const { endpoints, options } = this.listener;
    if (this.attempt >= Math.min(this.port.limits.connectAttempts, Math.max(1, endpoints.count))) return this.fail('connect_failed');
    this.attempt++;
    const pick = endpoints.picker.pick({ attempt: this.attempt, exclude: this.tried, hashKey: this.accepted.remoteAddress });
    if (!pick.ok) return this.fail(this.attempt === 1 ? 'no_endpoints' : 'connect_failed');
    const endpoint = pick.endpoint;
    if (this.tried.has(endpoint.id)) {
      // The endpoints changed under this connection and every one left was tried already.
      pick.done({ kind: 'failure', latencyMs: 0, error: this.lastError ?? new ConnectFailedError(endpoint.address) });
      return this.fail('connect_failed');
    }
    this.tried.add(endpoint.id);
    const clock = options.runtime.clock;
    const started = clock.now();
    endpoints.connectorFor(endpoint)({ host: endpoint.host, port: endpoint.port }, (error, socket) => {
      const latencyMs = clock.now() - started;
      if (error !== null || socket === null) {
        const failure = isWeftError(error) ? error : new ConnectFailedError(endpoint.address, error ?? undefined);
        this.lastError = failure;
        pick.done({ kind: 'failure', latencyMs, error: failure });
        this.port.metrics.connectFailed();
        this.port.logger.debug({ endpoint: endpoint.id, address: endpoint.address, err: error?.message, code: failure.code }, 'tcp connect to an endpoint failed');
        this.next();
        return;
      }
      const connected: Outcome = { kind: 'success', latencyMs, status: 0 };
      if (this.over) {
        socket.destroy();
        pick.done(connected);
        return;
      }
      // The outcome is the connect's: what the bytes do afterwards is the protocol's business, and a balancer that
      // counts open connections (least-connections) holds this one until here.
      this.relay(this.accepted, socket, () => pick.done(connected), { endpoint: endpoint.id });
    });
  }

  /** No endpoint could take the connection: the app's socket is closed at once, with nothing sent on it. */
  private fail(reason: TcpRefusal): void {
    this.giveUp();
    this.port.refused(reason, {
      attempts: this.attempt,
      endpoints: this.listener.endpoints.count,
      ...(this.lastError ? { code: this.lastError.code, err: this.lastError.message } : {}),
    });
    this.accepted.destroy();
  }
}
