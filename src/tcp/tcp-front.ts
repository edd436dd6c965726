// TCP: the listening socket of a TCP port — accepts under a connection cap, keeps every open connection, and drains them on close.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { TcpAddress } from './tcp-server.js';

/** What a port does with one accepted connection, whatever stage it has reached. */
export interface CarriedConnection {
  /** Ends it cleanly: a FIN each way for a relayed connection; one not yet relayed is given up. */
  end(): void;
  /** Tears it down at once, every socket it holds. */
  destroy(): void;
}

export interface TcpFrontOptions {
  readonly maxConnections: number;
  /** Takes an accepted socket; it arrives paused (nothing read yet). */
  readonly accept: (socket: Socket) => CarriedConnection;
  /** Told of a socket closed at once because the cap was reached. */
  readonly refused: (socket: Socket) => void;
  /** Told of an error of the listening socket once it listens (an accept that failed); the port keeps listening. */
  readonly listenerError?: (error: Error) => void;
}

/** TCP keep-alive probes after this long idle, so a peer that vanished is found out. */
const KEEP_ALIVE_PROBE_AFTER_MS = 60_000;

/**
 * The accepting side of a TCP port. Sockets are accepted paused and half-open capable: the outbound side reads
 * nothing before its upstream is connected (the client's first bytes wait in the kernel), and the inbound side
 * reads the first byte itself to tell TLS from plaintext.
 */
export class TcpFront {
  private readonly server: Server;
  private readonly open = new Map<Socket, CarriedConnection>();
  private closing: Promise<void> | null = null;
  private onEmpty: (() => void) | null = null;

  constructor(private readonly options: TcpFrontOptions) {
    this.server = createServer(
      { allowHalfOpen: true, pauseOnConnect: true, noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEP_ALIVE_PROBE_AFTER_MS },
      (socket) => this.admit(socket),
    );
  }

  /** Connections open now, relayed or still being set up. */
  get connections(): number {
    return this.open.size;
  }

  listen(host: string, port: number): Promise<TcpAddress> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.removeListener('error', onError);
        // From now on an error of the listening socket is reported, never thrown out of the process.
        this.server.on('error', (error: Error) => this.options.listenerError?.(error));
        const address = this.server.address() as AddressInfo;
        resolve({ host: address.address, port: address.port });
      });
    });
  }

  /**
   * Stops accepting, ends every open connection cleanly (FIN), waits for them to close for up to `drainMs`, then
   * destroys what remains. Calling it again returns the same promise.
   */
  close(drainMs: number): Promise<void> {
    this.closing ??= this.drain(drainMs);
    return this.closing;
  }

  private async drain(drainMs: number): Promise<void> {
    const stopped = this.server.listening ? new Promise<void>((resolve) => this.server.close(() => resolve())) : Promise.resolve();
    for (const connection of [...this.open.values()]) connection.end();
    if (this.open.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        this.onEmpty = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.onEmpty = null;
    }
    for (const [socket, connection] of [...this.open]) {
      connection.destroy();
      socket.destroy();
    }
    await stopped;
  }

  private admit(socket: Socket): void {
    // A socket that was already in the accept queue when close began is not served.
    if (this.closing !== null || this.open.size >= this.options.maxConnections) {
      socket.on('error', ignore);
      socket.destroy();
      if (this.closing === null) this.options.refused(socket);
      return;
    }
    const connection = this.options.accept(socket);
    this.open.set(socket, connection);
    socket.once('close', () => {
      this.open.delete(socket);
      if (this.open.size === 0) this.onEmpty?.();
    });
  }
}

function ignore(): void {}
