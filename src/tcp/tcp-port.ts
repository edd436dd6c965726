// TCP: what every TCP port of the sidecar does alike — its limits, logger and counts, the accepting front, refusals logged without flooding, and the relay once both sockets are up.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Runtime } from '../core/index.js';
import { createTcpMetrics, UNKNOWN_SERVICE, type ProxyDirection, type TcpConnections } from '../telemetry/index.js';
import { TcpFront, type CarriedConnection } from './tcp-front.js';
import { resolveTcpLimits, type TcpLimitOverrides, type TcpLimits } from './tcp-limits.js';
import type { TcpAddress } from './tcp-server.js';
import { createTcpPortMetrics, type TcpPortMetrics, type TcpRefusal } from './tcp-proxy-metrics.js';
import { Splice } from './tcp-splice.js';
import { ThrottledLog } from './throttled-log.js';

export interface TcpPortOptions {
  readonly runtime: Runtime;
  readonly direction: ProxyDirection;
  /** The service the port carries connections for: the upstream outbound, the sidecar's own inbound. */
  readonly service: string;
  readonly limits?: TcpLimitOverrides | undefined;
  /** Fields of every line the port logs, naming the listener and whom it serves. */
  readonly logBindings: Readonly<Record<string, string>>;
  /** Fields of the line logged once the port listens, beside its address. */
  readonly listenFields?: Readonly<Record<string, unknown>>;
  /** Takes an accepted socket, paused; what it returns is ended or destroyed when the port closes. */
  readonly accept: (port: TcpPort, socket: Socket) => CarriedConnection;
}

const LISTENING: Readonly<Record<ProxyDirection, string>> = { outbound: 'tcp upstream listening', inbound: 'tcp inbound listening' };

const REFUSAL_MESSAGES: Readonly<Record<TcpRefusal, string>> = {
  connection_limit: 'tcp connection refused: the port has as many open connections as it may',
  no_endpoints: 'tcp connection closed: the upstream has no passing tcp endpoint',
  connect_failed: 'tcp connection closed: no endpoint of the upstream could be connected',
  plaintext: 'tcp connection refused: plaintext to a strict mTLS port',
  handshake: 'tcp connection refused: the TLS handshake failed',
  forbidden: 'tcp connection refused: the AuthorizationPolicy does not allow this caller',
  unauthenticated: 'tcp connection refused: the service has a JwtPolicy, and a tcp connection carries no token',
  app_unavailable: 'tcp connection closed: the app could not be connected',
};

/**
 * One listening TCP port. The accepted (downstream) sockets are counted as coming from `_unknown` — a connection
 * names no caller when it is accepted — and the sockets the port opens (to an instance, or to the app) as going to
 * the port's service.
 */
export class TcpPort {
  readonly limits: TcpLimits;
  readonly logger: Logger;
  readonly metrics: TcpPortMetrics;
  private readonly warnings: ThrottledLog;
  private readonly trackUpstream: TcpConnections['track'];
  private readonly front: TcpFront;

  constructor(private readonly options: TcpPortOptions) {
    const { runtime, direction, service } = options;
    this.limits = resolveTcpLimits(options.limits);
    this.logger = runtime.logger.child(options.logBindings);
    this.warnings = new ThrottledLog(this.logger, runtime.clock);
    this.metrics = createTcpPortMetrics(runtime.metrics, direction, service);
    const tcp = createTcpMetrics(runtime.metrics);
    const trackDownstream = tcp.connections(direction, 'downstream', UNKNOWN_SERVICE).track;
    this.trackUpstream = tcp.connections(direction, 'upstream', service).track;
    this.front = new TcpFront({
      maxConnections: this.limits.maxConnections,
      accept: (socket) => {
        trackDownstream(socket);
        return options.accept(this, socket);
      },
      refused: (socket) => {
        trackDownstream(socket);
        this.refused('connection_limit', { maxConnections: this.limits.maxConnections });
      },
      listenerError: (error) => this.logger.error({ err: error }, 'tcp port: the listening socket reported an error; it keeps listening'),
    });
  }

  /** Counts a connection the port will not carry and logs why (a burst a minute at most: refusals come at the callers' rate). */
  refused(reason: TcpRefusal, fields: Readonly<Record<string, unknown>>): void {
    this.metrics.refused(reason);
    this.warnings.warn({ reason, ...fields }, REFUSAL_MESSAGES[reason]);
  }

  /** Relays a connection once the port's own socket (`upstream`, to an instance or to the app) is up; it is counted from here. */
  relay(downstream: Socket, upstream: Socket, onClose: () => void, logFields: Readonly<Record<string, unknown>> = {}): Splice {
    this.trackUpstream(upstream);
    const { idleTimeoutMs } = this.limits;
    return new Splice(downstream, upstream, {
      clock: this.options.runtime.clock,
      idleTimeoutMs,
      onIdle: () => {
        this.metrics.idleTimedOut();
        this.logger.debug({ ...logFields, idleTimeoutMs }, 'tcp connection closed: idle');
      },
      onClose,
    });
  }

  listen(host: string, port: number): Promise<TcpAddress> {
    return this.front.listen(host, port).then((address) => {
      this.logger.info({ address: `${address.host}:${address.port}`, ...this.options.listenFields }, LISTENING[this.options.direction]);
      return address;
    });
  }

  close(drainMs: number): Promise<void> {
    return this.front.close(drainMs);
  }

  /** Connections open now, relayed or still being set up. */
  inFlight(): number {
    return this.front.connections;
  }
}
