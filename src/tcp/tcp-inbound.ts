// TCP: the inbound port of a tcp service — accepts in the service's mTLS mode, lets in the callers its policies allow, and relays each connection to the app.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Runtime } from '../core/index.js';
import type { MtlsMode, SnapshotSource } from '../model/index.js';
import { ANONYMOUS_PEER, MtlsPeers, type PeerIdentity } from '../security/authz/index.js';
import type { MeshTls, WorkloadIdentity } from '../security/tls/index.js';
import { tcpConnector, type Connector } from '../transport/index.js';
import { closeGently } from './close-gently.js';
import { sniffFirstByte, type FirstByte } from './first-byte.js';
import { PortConnection } from './port-connection.js';
import { TcpAdmission } from './tcp-authorization.js';
import type { TcpLimitOverrides } from './tcp-limits.js';
import { TcpPort } from './tcp-port.js';
import type { TcpRefusal } from './tcp-proxy-metrics.js';
import type { TcpAddress, TcpServer } from './tcp-server.js';
import { TlsTerminator } from './tls-terminator.js';

export interface TcpInboundOptions {
  readonly runtime: Runtime;
  readonly snapshots: SnapshotSource;
  /** The service the port fronts: its mTLS mode, AuthorizationPolicy and JwtPolicy apply. */
  readonly service: string;
  /** Where the app listens. */
  readonly app: { readonly host: string; readonly port: number };
  /**
   * The mesh's mTLS state. The port's mode is the service's (its policy's `mtls`, else the mesh default: strict until
   * the mesh is known), read for each connection as it is accepted; TLS is served with `mtls.identity` once there is
   * one. Absent: plaintext only, as in mode `disabled`.
   */
  readonly mtls?: MeshTls;
  readonly limits?: TcpLimitOverrides;
}

/**
 * Modes, per accepted connection:
 * - `disabled`: plaintext, relayed to the app at once, nothing read first;
 * - `strict`: a TLS 1.3 handshake with a client certificate of the trust bundle, within handshakeTimeoutMs; anything
 *   else is refused;
 * - `permissive`: TLS when the first byte opens a TLS handshake record, plaintext otherwise — and plaintext too when
 *   the client sends nothing within detectTimeoutMs, so that the app of a server-speaks-first protocol can greet it.
 * A caller is then judged by the service's policies (a proven SPIFFE id, or nobody for plaintext), and the app dialled.
 */
export function createTcpInbound(options: TcpInboundOptions): TcpServer {
  return new TcpInbound(options);
}

class TcpInbound implements TcpServer {
  readonly port: TcpPort;
  readonly admission: TcpAdmission;
  readonly peers: MtlsPeers;
  readonly tls: TlsTerminator;
  readonly appConnector: Connector;
  /** Connections whose TLS handshake is under way, by the socket the port accepted. */
  private readonly handshaking = new WeakMap<Socket, InboundConnection>();

  constructor(readonly options: TcpInboundOptions) {
    const { runtime, service, app } = options;
    this.port = new TcpPort({
      runtime,
      direction: 'inbound',
      service,
      limits: options.limits,
      logBindings: { listener: 'tcp-inbound', service },
      listenFields: { app: `${app.host}:${app.port}` },
      accept: (port, socket) => {
        const connection = new InboundConnection(this, port, socket);
        connection.start();
        return connection;
      },
    });
    this.admission = new TcpAdmission({ service, snapshots: options.snapshots });
    this.peers = new MtlsPeers(() => options.mtls?.trustDomain ?? '');
    this.appConnector = tcpConnector(this.port.limits.connectTimeoutMs);
    this.tls = new TlsTerminator(
      {
        secured: (raw, secure, spiffeId) => {
          const connection = this.handshaking.get(raw);
          if (connection === undefined) secure.destroy();
          else connection.secured(secure, spiffeId);
        },
        failed: (error) => this.port.refused('handshake', { err: error.message, code: (error as NodeJS.ErrnoException).code }),
      },
      this.port.limits.handshakeTimeoutMs,
    );
  }

  /** The port's mode for a connection accepted now. */
  mode(): MtlsMode {
    const mtls = this.options.mtls;
    return mtls === undefined ? 'disabled' : mtls.modeOf(this.options.snapshots.current().policies.get(this.options.service));
  }

  identity(): WorkloadIdentity | null {
    return this.options.mtls?.identity ?? null;
  }

  /** Hands an accepted socket to TLS; the connection hears of the outcome through `secured` (a failure closes the socket). */
  handshake(raw: Socket, connection: InboundConnection, identity: WorkloadIdentity): void {
    this.handshaking.set(raw, connection);
    this.tls.take(raw, identity);
  }

  listen(host: string, port: number): Promise<TcpAddress> {
    return this.port.listen(host, port);
  }

  async close(drainMs: number): Promise<void> {
    this.admission.close();
    this.tls.close();
    await this.port.close(drainMs);
  }

  inFlight(): number {
    return this.port.inFlight();
  }
}

/** One accepted connection: its mode decided, its caller proven and judged, then relayed to the app. */
class InboundConnection extends PortConnection {
  private secure: TLSSocket | null = null;
  /** One deadline from the accept for the first byte and the TLS handshake together (node:tls would start its own after the byte). */
  private handshakeDeadline: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly inbound: TcpInbound,
    port: TcpPort,
    raw: Socket,
  ) {
    super(port, raw);
  }

  start(): void {
    const mode = this.inbound.mode();
    if (mode === 'disabled') {
      this.admit(this.accepted, ANONYMOUS_PEER);
      return;
    }
    const { detectTimeoutMs, handshakeTimeoutMs } = this.port.limits;
    this.handshakeDeadline = setTimeout(() => {
      this.handshakeDeadline = null;
      if (!this.over) this.refuse('handshake', { err: 'no TLS handshake finished in time' });
    }, handshakeTimeoutMs);
    sniffFirstByte(this.accepted, mode === 'permissive' ? detectTimeoutMs : handshakeTimeoutMs, this.inbound.options.runtime.clock, (what) => this.sniffed(what));
  }

  /** After the TLS handshake: the caller proven by its certificate (of our trust domain), else nobody in particular. */
  secured(secure: TLSSocket, spiffeId: string | null): void {
    this.secure = secure;
    secure.on('error', ignore);
    if (this.over) {
      secure.destroy();
      return;
    }
    const peer = spiffeId === null ? ANONYMOUS_PEER : (this.inbound.peers.ofSpiffeId(spiffeId) ?? ANONYMOUS_PEER);
    this.admit(secure, peer);
  }

  protected override releaseOwnSockets(): void {
    if (this.handshakeDeadline !== null) clearTimeout(this.handshakeDeadline);
    this.handshakeDeadline = null;
    this.secure?.destroy();
  }

  private sniffed(what: FirstByte): void {
    if (this.over || what === 'closed') return;
    // Read again, not kept from the accept: a mode change while the first byte was in flight applies already.
    const mode = this.inbound.mode();
    if (what === 'tls' && mode !== 'disabled') {
      const identity = this.inbound.identity();
      if (identity === null) return this.refuse('handshake', { err: 'no workload certificate to answer TLS with yet' });
      this.inbound.handshake(this.accepted, this, identity);
      return;
    }
    if (mode === 'strict') return this.refuse(what === 'silent' ? 'handshake' : 'plaintext', what === 'silent' ? { err: 'no TLS handshake began in time' } : {});
    this.admit(this.accepted, ANONYMOUS_PEER);
  }

  private admit(client: Socket, peer: PeerIdentity): void {
    if (this.handshakeDeadline !== null) clearTimeout(this.handshakeDeadline);
    this.handshakeDeadline = null;
    const denial = this.inbound.admission.check(peer);
    if (denial !== null) return this.refuse(denial, { caller: peer.spiffeId ?? 'unauthenticated' }, client);
    const { host, port } = this.inbound.options.app;
    this.inbound.appConnector({ host, port }, (error, app) => {
      if (error !== null || app === null) {
        this.port.metrics.connectFailed();
        this.refuse('app_unavailable', { app: `${host}:${port}`, err: error?.message }, client);
        return;
      }
      if (this.over) {
        app.destroy();
        return;
      }
      this.relay(client, app, () => undefined);
    });
  }

  /** Refused callers get a FIN (a TLS one a close_notify first) rather than a reset, and a moment to read it. */
  private refuse(reason: TcpRefusal, fields: Record<string, unknown>, client: Socket = this.accepted): void {
    if (this.handshakeDeadline !== null) clearTimeout(this.handshakeDeadline);
    this.handshakeDeadline = null;
    this.giveUp();
    this.port.refused(reason, fields);
    closeGently(client);
  }
}

function ignore(): void {}
