// Security/TLS: one inbound port in a given mTLS mode: TLS 1.3 with client certificates, plaintext, or either (sniffed per connection).
import { EventEmitter } from 'node:events';
import { createServer as createPlainServer, type RequestListener, type Server as PlainServer } from 'node:http';
import { createServer as createSecureServer, type Server as SecureServer } from 'node:https';
import { createServer as createFrontServer, type AddressInfo, type Server as FrontServer, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { ValidationError } from '../../core/index.js';
import type { MtlsMode } from '../../model/index.js';
import { spiffeIdOfSubjectAltName } from './spiffe-id.js';
import type { WorkloadIdentity } from './workload-identity.js';

/** strict: mTLS only, plaintext connections are closed; permissive: mTLS or plaintext on one port; disabled: plaintext only. */
export type { MtlsMode };

/** Sidecars speak HTTP/1.1 to each other inside TLS. */
export const MTLS_ALPN = ['http/1.1'];

/** The first byte of every TLS record carrying a handshake (a ClientHello starts the connection with one). */
const TLS_HANDSHAKE_RECORD = 0x16;

export interface MtlsListenerOptions {
  readonly mode: MtlsMode;
  /** Required unless the mode is disabled. */
  readonly identity?: WorkloadIdentity | null;
  /** Called for every request, TLS or not; `peerSpiffeId(req.socket)` tells who called over mTLS. */
  readonly onRequest: RequestListener;
  readonly keepAliveTimeoutMs?: number;
  /** A connection must send its first byte and, for TLS, finish its handshake within this time. */
  readonly handshakeTimeoutMs?: number;
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
 * and an http.Server for plaintext. Each accepted socket goes to one of them by its first byte (or by
 * the mode alone), so one port can serve both during a migration. It offers the server methods the
 * drain life cycle uses (listen, address, close, closeIdleConnections, closeAllConnections, 'error').
 *
 * Events: 'error' (Error) from the listening socket; 'refused' (RefusalReason, Error | undefined).
 */
export class MtlsListener extends EventEmitter {
  readonly mode: MtlsMode;
  readonly refusals: MtlsRefusals = { plaintext: 0, handshake: 0 };
  /** Serves plaintext connections; null in strict mode. */
  readonly plain: PlainServer | null;
  /** Serves mTLS connections; null when disabled. */
  readonly secure: SecureServer | null;
  private readonly front: FrontServer;
  private readonly handshakeTimeoutMs: number;
  private readonly stopFollowingIdentity: () => void;

  constructor(options: MtlsListenerOptions) {
    super();
    this.mode = options.mode;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? MTLS_LISTENER_DEFAULTS.handshakeTimeoutMs;
    const keepAliveTimeout = options.keepAliveTimeoutMs ?? MTLS_LISTENER_DEFAULTS.keepAliveTimeoutMs;
    const identity = options.identity ?? null;
    if (this.mode !== 'disabled' && identity === null) throw new ValidationError('identity', `required when mTLS is ${this.mode}`);

    this.plain = this.mode === 'strict' ? null : createPlainServer({ keepAliveTimeout }, options.onRequest);
    if (identity === null || this.mode === 'disabled') {
      this.secure = null;
      this.stopFollowingIdentity = () => {};
    } else {
      const secure = createSecureServer(
        {
          ...identity.current.contextOptions,
          requestCert: true,
          rejectUnauthorized: true,
          ALPNProtocols: MTLS_ALPN,
          handshakeTimeout: this.handshakeTimeoutMs,
          keepAliveTimeout,
        },
        options.onRequest,
      );
      // Ahead of the HTTP server's own listener, so the caller is known before its first request is parsed.
      secure.prependListener('secureConnection', (socket: TLSSocket) => {
        const id = spiffeIdOfSubjectAltName(socket.getPeerCertificate().subjectaltname);
        if (id !== null) peerIds.set(socket, id);
      });
      secure.on('tlsClientError', (err: Error, socket: TLSSocket) => {
        this.refuse('handshake', err);
        socket.destroy();
      });
      // New handshakes take the new certificate and bundle; established connections keep theirs.
      this.stopFollowingIdentity = identity.onUpdate((state) => secure.setSecureContext(state.contextOptions));
      this.secure = secure;
    }

    this.front = createFrontServer((socket) => this.accept(socket));
    this.front.on('error', (err) => this.emit('error', err));
  }

  listen(port: number, host: string, callback?: () => void): this {
    this.front.listen(port, host, () => {
      // The inner servers start tracking connections (idle closing, header timeouts) on 'listening'.
      this.plain?.emit('listening');
      this.secure?.emit('listening');
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
    this.plain?.close();
    this.secure?.close();
    return this;
  }

  closeIdleConnections(): void {
    this.plain?.closeIdleConnections();
    this.secure?.closeIdleConnections();
  }

  closeAllConnections(): void {
    this.plain?.closeAllConnections();
    this.secure?.closeAllConnections();
  }

  private accept(socket: Socket): void {
    if (this.mode === 'disabled') {
      this.plain?.emit('connection', socket);
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
      if (chunk[0] === TLS_HANDSHAKE_RECORD) this.secure?.emit('connection', socket);
      else if (this.plain !== null) {
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
