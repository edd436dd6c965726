// TCP: what a TCP port offers the sidecar's assembly — the listen/close life cycle of its other listeners.

/** Where a port listens once bound (the shape of the sidecar's other listening addresses). */
export interface TcpAddress {
  readonly host: string;
  readonly port: number;
}

export interface TcpServer {
  /** Resolves with the bound address (port 0 picks a free port). */
  listen(host: string, port: number): Promise<TcpAddress>;
  /** Stops accepting, ends open connections with a FIN each way, and destroys what is still open after drainMs. */
  close(drainMs: number): Promise<void>;
  /** Connections open now, relayed or still being set up. */
  inFlight(): number;
}
