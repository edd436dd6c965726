// TCP: the TLS side of an inbound tcp port — TLS 1.3 with a client certificate the trust bundle vouches for, and the caller's SPIFFE id.
import type { Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { spiffeIdOfSubjectAltName, type WorkloadIdentity } from '../security/tls/index.js';

export interface TlsTerminatorHandlers {
  /** The handshake succeeded on `raw`; `secure` is the socket to relay, `spiffeId` the caller's proven id (null if its certificate names none). */
  secured(raw: Socket, secure: TLSSocket, spiffeId: string | null): void;
  /**
   * The handshake failed or timed out: no certificate, an untrusted or expired one, TLS below 1.3, or silence. The
   * connection is already being torn down (node:tls destroys the socket it failed on, and with it the accepted one).
   */
  failed(error: Error): void;
}

/** The key that finds an accepted socket again from the TLS socket node:tls makes over it: both share the one connection's peer address. */
function peerKey(socket: Socket): string | null {
  const { remoteAddress, remotePort } = socket;
  return remoteAddress === undefined || remotePort === undefined ? null : `${remoteAddress}\0${remotePort}`;
}

/**
 * A node:tls server that never listens: the port hands it each socket whose first byte said TLS, as MtlsListener
 * does for HTTP. It is built from the identity's current context options with client certificates required and
 * checked (node:tls refuses the handshake otherwise), and follows the identity's renewals, so new handshakes present
 * the new certificate and trust the new bundle while established connections keep what they negotiated.
 */
export class TlsTerminator {
  private server: Server | null = null;
  private identity: WorkloadIdentity | null = null;
  private stopFollowing: () => void = () => {};
  /** Sockets in their handshake, by peer address. */
  private readonly handshaking = new Map<string, Socket>();

  constructor(
    private readonly handlers: TlsTerminatorHandlers,
    private readonly handshakeTimeoutMs: number,
  ) {}

  /** Starts the handshake on an accepted socket whose ClientHello is still unread in it. */
  take(raw: Socket, identity: WorkloadIdentity): void {
    const key = peerKey(raw);
    if (key === null) {
      raw.destroy();
      this.handlers.failed(new Error('the connection has no peer address'));
      return;
    }
    this.handshaking.set(key, raw);
    raw.once('close', () => {
      if (this.handshaking.get(key) === raw) this.handshaking.delete(key);
    });
    this.serverFor(identity).emit('connection', raw);
  }

  /** Stops following the identity's renewals; handshakes under way finish with the context they started with. */
  close(): void {
    this.stopFollowing();
  }

  private serverFor(identity: WorkloadIdentity): Server {
    if (this.server !== null && this.identity === identity) return this.server;
    this.stopFollowing();
    const server = createServer({
      ...identity.current.contextOptions,
      requestCert: true,
      rejectUnauthorized: true,
      // No ALPN: the bytes inside are the app's, not HTTP; a client's offer (sidecar connectors make one) is left unanswered.
      handshakeTimeout: this.handshakeTimeoutMs,
    });
    server.on('secureConnection', (secure: TLSSocket) => {
      const raw = this.claim(secure);
      if (raw === null) {
        secure.destroy();
        return;
      }
      this.handlers.secured(raw, secure, spiffeIdOfSubjectAltName(secure.getPeerCertificate().subjectaltname));
    });
    server.on('tlsClientError', (error: Error, secure: TLSSocket) => {
      // The accepted socket leaves the handshaking map on its own 'close'; its address may already be unreadable here.
      secure.destroy();
      this.handlers.failed(error);
    });
    this.stopFollowing = identity.onUpdate((state) => server.setSecureContext(state.contextOptions));
    this.server = server;
    this.identity = identity;
    return server;
  }

  private claim(secure: TLSSocket): Socket | null {
    const key = peerKey(secure);
    if (key === null) return null;
    const raw = this.handshaking.get(key) ?? null;
    this.handshaking.delete(key);
    return raw;
  }
}
