// Security/TLS: one inbound port in a given mTLS mode: TLS 1.3 with client certificates, plaintext, or either (sniffed per connection).
import { EventEmitter } from 'node:events';
import { createServer as createPlainServer, type IncomingMessage, type RequestListener, type Server as PlainServer } from 'node:http';
import { createServer as createFrontServer, type AddressInfo, type Server as FrontServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { ValidationError } from '../../core/index.js';
import { handOver, sniffPreface, type Http2Sessions } from '../../transport/index.js';
import type { MtlsMode } from '../../model/index.js';
import { spiffeIdOfSubjectAltName } from './spiffe-id.js';
import type { WorkloadIdentity } from './workload-identity.js';

/** strict: mTLS only, plaintext connections are closed; permissive: mTLS or plaintext on one port; disabled: plaintext only. */
export type { MtlsMode };

/** Sidecars speak HTTP/2 or HTTP/1.1 to each other inside TLS, as ALPN settles per connection. */
export const MTLS_ALPN = ['h2', 'http/1.1'];
/** What a listener without HTTP/2 offers. */
const HTTP1_ALPN = ['http/1.1'];

/** The first byte of every TLS record carrying a handshake (a ClientHello starts the connection with one). */
const TLS_HANDSHAKE_RECORD = 0x16;

export interface MtlsListenerOptions {
  /** The mode at start; `setMode` changes it for the connections accepted from then on. */
  readonly mode: MtlsMode;
  /**
   * Needed to serve TLS. May come later (`setIdentity`), e.g. once the sidecar's first certificate is issued;
   * until then a strict port refuses every connection and a permissive one serves plaintext only.
   */
  readonly identity?: WorkloadIdentity | null;
  /** Called for every request, TLS or not; `peerSpiffeId(req.socket)` tells who called over mTLS. */
  readonly onRequest: RequestListener;
  /** Called for every request that asks to upgrade (a WebSocket), TLS or not, with its socket; absent: node:http's default. */
  readonly onUpgrade?: (req: IncomingMessage, socket: Socket, head: Buffer) => void;
  /**
   * Serves HTTP/2 connections: h2 chosen by ALPN under TLS, and h2c with prior knowledge in plaintext (told by its
   * preface). `peerSpiffeId(stream.session)` tells who called over mTLS. Absent: HTTP/1.1 only.
   */
  readonly http2?: Http2Sessions;
  readonly keepAliveTimeoutMs?: number;
  /** A connection must send its first byte and, for TLS, finish its handshake within this time. */
  readonly handshakeTimeoutMs?: number;
  /** Applies the port's limits: to each HTTP server as it is made (they accept no connection themselves), and the cap to the listening socket. */
  readonly guard?: ServerGuard;
}

/** What the listener asks of the limits of its port (a ListenerGuard): set on each inner HTTP server, and the connection cap on the front. */
export interface ServerGuard {
  protect(server: PlainServer, acceptsOwnConnections: boolean): void;
  cap(server: FrontServer): void;
}

export const MTLS_LISTENER_DEFAULTS = { keepAliveTimeoutMs: 10_000, handshakeTimeoutMs: 10_000 } as const;

/** Why a connection was closed without reaching HTTP. */
export type RefusalReason = 'plaintext' | 'handshake';

/** Connections refused since start, as plain numbers for a metrics collector to read at scrape time. */
export interface MtlsRefusals {
  /** Plaintext sent to a strict port. */
  plaintext: number;
  /** TLS handshakes that failed: untrusted or expired client certificate, none at all, TLS below 1.3, timeouts. */
  handshake: number;
}

const peerIds = new WeakMap<object, string>();

/** The SPIFFE id the caller proved on this connection (`req.socket` of a request), or null for plaintext. */
export function peerSpiffeId(socket: object): string | null {
  return peerIds.get(socket) ?? null;
}

/**
 * A listening port in front of two HTTP servers that never listen themselves: an https.Server for mTLS
 * and an http.Server for plaintext. Each accepted socket goes to one of them by its first byte and the
 * mode at that moment, so one port can serve both during a migration and the mode can change while
 * the port stays open (connections already accepted keep the server they were given). It offers the
 * server methods the drain life cycle uses (listen, address, close, closeIdleConnections,
 * closeAllConnections, 'error').
 *
 * Events: 'error' (Error) from the listening socket; 'refused' (RefusalReason, Error | undefined);
 * 'connection' (Socket) for every accepted TCP connection, before it is sniffed.
 */
export class MtlsListener extends EventEmitter {
  readonly refusals: MtlsRefusals = { plaintext: 0, handshake: 0 };
  /** Serves plaintext connections (in permissive and disabled mode). */
  readonly plain: PlainServer;
  /** Does the TLS handshakes; null until the listener has an identity. */
  secure: TlsServer | null = null;
  /** Serves HTTP/1.1 over the handshaken connections; null until the listener has an identity. */
  private secureHttp: PlainServer | null = null;
  private readonly http2: Http2Sessions | null;
  private current: MtlsMode;
  private readonly front: FrontServer;
  private readonly handshakeTimeoutMs: number;
  private readonly keepAliveTimeout: number;
  private readonly onRequest: RequestListener;
  private readonly onUpgrade: ((req: IncomingMessage, socket: Socket, head: Buffer) => void) | undefined;
  private readonly guard: ServerGuard | undefined;
  private stopFollowingIdentity: () => void = () => {};

  constructor(options: MtlsListenerOptions) {
    super();
    this.current = options.mode;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? MTLS_LISTENER_DEFAULTS.handshakeTimeoutMs;
    this.keepAliveTimeout = options.keepAliveTimeoutMs ?? MTLS_LISTENER_DEFAULTS.keepAliveTimeoutMs;
    this.onRequest = options.onRequest;
    this.guard = options.guard;
    this.http2 = options.http2 ?? null;
    this.plain = createPlainServer({ keepAliveTimeout: this.keepAliveTimeout }, options.onRequest);
    this.onUpgrade = options.onUpgrade;
    if (this.onUpgrade) this.plain.on('upgrade', this.onUpgrade);
    this.guard?.protect(this.plain, false);
    if (options.identity) this.setIdentity(options.identity);
    this.front = createFrontServer((socket) => this.accept(socket));
    this.guard?.cap(this.front);
    this.front.on('error', (err) => this.emit('error', err));
  }

  get mode(): MtlsMode {
    return this.current;
  }

  /** Applies to connections accepted from now on; open connections keep going as they were accepted. */
  setMode(mode: MtlsMode): void {
    this.current = mode;
  }

  /** Whether an identity was given, i.e. TLS can be served. */
  get hasIdentity(): boolean {
    return this.secure !== null;
  }

  /**
   * Starts serving TLS with `identity` (once; later certificates and bundles reach the server through the
   * identity's updates, so new handshakes take them while established connections keep theirs).
   */
  setIdentity(identity: WorkloadIdentity): void {
    if (this.secure !== null) throw new ValidationError('identity', 'the listener already has an identity; renewals go through WorkloadIdentity.update');
    const secureHttp = createPlainServer({ keepAliveTimeout: this.keepAliveTimeout }, this.onRequest);
    if (this.onUpgrade) secureHttp.on('upgrade', this.onUpgrade);
    this.guard?.protect(secureHttp, false);
    const secure = createTlsServer(
      {
        ...identity.current.contextOptions,
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: this.http2 === null ? HTTP1_ALPN : MTLS_ALPN,
        handshakeTimeout: this.handshakeTimeoutMs,
      },
      (socket: TLSSocket) => {
        // Known before the first request is parsed: the caller is named for every request of the connection.
        const id = spiffeIdOfSubjectAltName(socket.getPeerCertificate().subjectaltname);
        if (socket.alpnProtocol === 'h2' && this.http2 !== null) {
          const session = this.http2.accept(socket);
          if (id !== null && session !== null) peerIds.set(session, id);
          return;
        }
        if (id !== null) peerIds.set(socket, id);
        secureHttp.emit('connection', socket);
      },
    );
    secure.on('tlsClientError', (err: Error, socket: TLSSocket) => {
      this.refuse('handshake', err);
      socket.destroy();
    });
    this.secureHttp = secureHttp;
    this.stopFollowingIdentity = identity.onUpdate((state) => secure.setSecureContext(state.contextOptions));
    this.secure = secure;
    if (this.front?.listening) secureHttp.emit('listening');
  }

  listen(port: number, host: string, callback?: () => void): this {
    this.front.listen(port, host, () => {
      // The inner servers start tracking connections (idle closing, header timeouts) on 'listening'.
      this.plain.emit('listening');
      this.secureHttp?.emit('listening');
      callback?.();
    });
    return this;
  }

  get listening(): boolean {
    return this.front.listening;
  }

  address(): AddressInfo | null {
    const address = this.front.address();
    return typeof address === 'object' ? address : null;
  }

  /** Stops accepting; `callback` runs once every accepted connection has closed. */
  close(callback?: (err?: Error) => void): this {
    this.stopFollowingIdentity();
    this.front.close(callback);
    // Stops their connection checkers and closes idle connections; they hold no listening socket.
    this.plain.close();
    this.secureHttp?.close();
    this.http2?.goawayAll();
    return this;
  }

  closeIdleConnections(): void {
    this.plain.closeIdleConnections();
    this.secureHttp?.closeIdleConnections();
    this.http2?.closeIdle();
  }

  closeAllConnections(): void {
    this.plain.closeAllConnections();
    this.secureHttp?.closeAllConnections();
    this.http2?.destroyAll();
  }

  private accept(socket: Socket): void {
    this.emit('connection', socket);
    if (this.current === 'disabled') {
      if (this.http2 !== null) sniffPreface(socket, this.handshakeTimeoutMs, (protocol) => handOver(protocol, socket, this.plain, this.http2!), () => {});
      else this.plain.emit('connection', socket);
      return;
    }
    // Until a server owns the socket, a reset from the peer is this listener's to absorb.
    const ignore = (): void => {};
    socket.on('error', ignore);
    const timer = setTimeout(() => {
      socket.removeListener('data', onFirstChunk);
      this.refuse('handshake', undefined);
      socket.destroy();
    }, this.handshakeTimeoutMs);
    const onFirstChunk = (chunk: Buffer): void => {
      clearTimeout(timer);
      socket.pause();
      socket.unshift(chunk);
      socket.removeListener('error', ignore);
      // The mode is read here, not at accept: a change while the first byte was in flight already applies.
      const mode = this.current;
      if (chunk[0] === TLS_HANDSHAKE_RECORD && this.secure !== null && mode !== 'disabled') this.secure.emit('connection', socket);
      else if (chunk[0] === TLS_HANDSHAKE_RECORD && mode !== 'disabled') {
        this.refuse('handshake', undefined);
        socket.destroy();
      } else if (mode !== 'strict' && this.http2 !== null) {
        // Plaintext HTTP/2 (h2c with prior knowledge) or HTTP/1.x, by the preface.
        sniffPreface(socket, this.handshakeTimeoutMs, (protocol) => handOver(protocol, socket, this.plain, this.http2!), () => this.refuse('handshake', undefined));
      } else if (mode !== 'strict') {
        this.plain.emit('connection', socket);
        // The HTTP parser reads the socket's handle directly from here on; the chunk put back above is
        // still in the stream's buffer and reaches the parser through the 'data' listener once flowing
        // (on the next tick, before any further read from the handle).
        socket.resume();
      } else {
        this.refuse('plaintext', undefined);
        socket.destroy();
      }
    };
    socket.once('data', onFirstChunk);
    socket.once('close', () => clearTimeout(timer));
  }

  private refuse(reason: RefusalReason, err: Error | undefined): void {
    this.refusals[reason]++;
    this.emit('refused', reason, err);
  }
}
