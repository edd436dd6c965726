// Transport: one listening port for HTTP/1.1 and HTTP/2 with prior knowledge (h2c): each connection goes to node:http or to the HTTP/2 sessions by its first bytes.
import { EventEmitter } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Http2Sessions } from './http2/server-sessions.js';
import { sniffPreface } from './preface-sniff.js';

export interface HttpFrontOptions {
  /** Serves HTTP/1.x connections; it never listens itself. */
  readonly http1: HttpServer;
  readonly http2: Http2Sessions;
  /** A connection must show which protocol it speaks within this time (the head timeout), or it is closed. */
  readonly sniffTimeoutMs: number;
  /** Told of a connection that sent nothing in time. */
  readonly onSilent?: () => void;
}

/**
 * The listening socket in front of an http.Server and HTTP/2 sessions that never listen themselves. It offers what
 * the drain life cycle uses (listen, address, close, closeIdleConnections, closeAllConnections, 'error'), for both.
 * Events: 'error' (Error) from the listening socket; 'connection' (Socket) for each accepted one, before it is sniffed.
 */
export class HttpFront extends EventEmitter {
  readonly socketServer: NetServer;
  /** Connections that have not shown their protocol yet: idle, so a drain closes them. */
  private readonly sniffing = new Set<Socket>();

  constructor(private readonly options: HttpFrontOptions) {
    super();
    // As node:http makes its own listening socket: a client's FIN does not end our side (a tunnel, or a response, may still be owed).
    this.socketServer = createNetServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
    this.socketServer.on('error', (err) => this.emit('error', err));
  }

  listen(port: number, host: string, callback?: () => void): this {
    this.socketServer.listen(port, host, () => {
      // The inner server starts tracking connections (idle closing, head timeouts) on 'listening'.
      this.options.http1.emit('listening');
      callback?.();
    });
    return this;
  }

  get listening(): boolean {
    return this.socketServer.listening;
  }

  address(): AddressInfo | null {
    const address = this.socketServer.address();
    return typeof address === 'object' ? address : null;
  }

  /** Stops accepting; HTTP/2 sessions are told to open no new streams; `callback` runs once every connection has closed. */
  close(callback?: (err?: Error) => void): this {
    this.socketServer.close(callback);
    this.options.http1.close();
    this.options.http2.goawayAll();
    return this;
  }

  closeIdleConnections(): void {
    this.options.http1.closeIdleConnections();
    this.options.http2.closeIdle();
    this.closeSniffing();
  }

  closeAllConnections(): void {
    this.options.http1.closeAllConnections();
    this.options.http2.destroyAll();
    this.closeSniffing();
  }

  private closeSniffing(): void {
    for (const socket of this.sniffing) socket.destroy();
    this.sniffing.clear();
  }

  private accept(socket: Socket): void {
    this.emit('connection', socket);
    this.sniffing.add(socket);
    socket.once('close', () => this.sniffing.delete(socket));
    sniffPreface(
      socket,
      this.options.sniffTimeoutMs,
      (protocol) => {
        this.sniffing.delete(socket);
        handOver(protocol, socket, this.options.http1, this.options.http2);
      },
      () => this.options.onSilent?.(),
    );
  }
}

/**
 * Gives a sniffed socket (paused, its first bytes put back) to the server of its protocol. node:http reads only a
 * flowing socket; the HTTP/2 session reads what was put back itself, and a resumed socket would lose it.
 */
export function handOver(protocol: 'http1' | 'http2', socket: Socket, http1: HttpServer, http2: Http2Sessions): void {
  if (protocol === 'http2') {
    // node:http handles a client's FIN itself; an HTTP/2 session does not, and would outlive a client that left.
    socket.allowHalfOpen = false;
    http2.accept(socket);
    return;
  }
  http1.emit('connection', socket);
  socket.resume();
}
