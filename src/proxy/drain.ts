// Proxy: the listen/drain/close life cycle of the sidecar's HTTP servers, and what its assembly needs of every server, HTTP or raw TCP.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ListeningAddress {
  host: string;
  port: number;
}

/** What a drain needs of a listening server: node's http.Server, or an MtlsListener in front of two. */
export interface DrainableServer {
  readonly listening: boolean;
  listen(port: number, host: string, callback: () => void): unknown;
  address(): AddressInfo | string | null;
  close(callback?: (err?: Error) => void): unknown;
  closeIdleConnections(): void;
  closeAllConnections(): void;
  once(event: 'error', listener: (err: Error) => void): unknown;
  removeListener(event: 'error', listener: (err: Error) => void): unknown;
}

/** Counts in-flight requests of one server and closes it gracefully. */
export class Drain {
  private count = 0;
  private closing = false;
  private idle: (() => void) | null = null;

  constructor(private readonly server: DrainableServer) {}

  get draining(): boolean {
    return this.closing;
  }

  inFlight(): number {
    return this.count;
  }

  begin(): void {
    this.count++;
  }

  end(): void {
    this.count--;
    if (this.closing) {
      // Connections whose last response just ended would otherwise sit idle until their keep-alive timeout.
      this.server.closeIdleConnections();
      if (this.count === 0) this.idle?.();
    }
  }

  listen(host: string, port: number): Promise<ListeningAddress> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', onError);
        const address = this.server.address() as AddressInfo;
        resolve({ host: address.address, port: address.port });
      });
    });
  }

  /**
   * Stops accepting connections, lets in-flight requests finish for up to drainMs (responses sent
   * meanwhile carry Connection: close), closes idle keep-alive connections, then destroys the rest.
   */
  async close(drainMs: number): Promise<void> {
    if (!this.server.listening) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.count > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        this.idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.idle = null;
    }
    this.server.closeAllConnections();
    await closed;
  }
}

/**
 * Keep-alive timeout of the sidecar's listeners: longer than the idle timeout of its own pools and of
 * Node's default client agent (5 s), so clients close idle connections first and never reuse one being closed.
 */
export const SERVER_KEEP_ALIVE_TIMEOUT_MS = 10_000;

/** What the sidecar's assembly needs from each of its servers, HTTP or raw TCP: a port, a drain, and what is still open. */
export interface SidecarServer {
  /** Resolves with the bound address (port 0 picks a free port). */
  listen(host: string, port: number): Promise<ListeningAddress>;
  /** Stops accepting, lets in-flight requests or connections finish for up to drainMs, then closes every connection. */
  close(drainMs: number): Promise<void>;
  inFlight(): number;
}

/** An HTTP server of the sidecar (outbound or inbound). */
export interface ProxyServer extends SidecarServer {
  /** The HTTP server that parses requests (behind an MtlsListener, its plaintext one; the listener owns the port). */
  readonly server: Server;
}
