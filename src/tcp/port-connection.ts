// TCP: one accepted connection of a port, from its accept to the end of its relay — what an outbound and an inbound connection share.
import type { Socket } from 'node:net';
import type { CarriedConnection } from './tcp-front.js';
import type { TcpPort } from './tcp-port.js';
import type { Splice } from './tcp-splice.js';

/**
 * Until the relay begins, the connection answers for the accepted socket: a reset from the client is absorbed here,
 * and a client that leaves marks the connection over, so that nothing more is started for it and a socket that
 * arrives late is destroyed. Once relayed, the splice answers for both sockets.
 */
export abstract class PortConnection implements CarriedConnection {
  private splice: Splice | null = null;
  private left = false;

  constructor(
    protected readonly port: TcpPort,
    protected readonly accepted: Socket,
  ) {
    accepted.on('error', ignore);
    accepted.once('close', () => {
      this.left = true;
    });
  }

  /** The client left, or the connection was refused, given up or drained. */
  protected get over(): boolean {
    return this.left;
  }

  /** A drain: a relayed connection gets a FIN each way; one still being set up is given up. */
  end(): void {
    if (this.splice !== null) this.splice.end();
    else this.destroy();
  }

  destroy(): void {
    this.left = true;
    this.splice?.destroy();
    this.releaseOwnSockets();
    this.accepted.destroy();
  }

  /** Marks the connection over before its socket is closed some other way (refused, given up). */
  protected giveUp(): void {
    this.left = true;
  }

  /** Sockets the connection holds beyond the accepted one and the relayed pair (a TLS socket in its handshake). */
  protected releaseOwnSockets(): void {}

  /** Relays `client` (the accepted socket, or the TLS socket over it) and `upstream`; the splice answers for both from here. */
  protected relay(client: Socket, upstream: Socket, onClose: () => void, logFields?: Readonly<Record<string, unknown>>): void {
    if (client === this.accepted) this.accepted.removeListener('error', ignore);
    this.splice = this.port.relay(client, upstream, onClose, logFields);
  }
}

function ignore(): void {}
