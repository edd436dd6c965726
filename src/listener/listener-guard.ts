// Listener: applies a listener's limits to node:http servers and answers, counts and logs what Node refuses before any handler runs.
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { effectiveHeadersTimeout, type ListenerLimits } from './listener-limits.js';
import { HTTP2_PREFACE_START, http2Refusal } from './http2-refusal.js';
import { ListenerRejections, type RejectionReason } from './listener-rejections.js';

export interface ListenerGuardOptions {
  /** The listener's name in metrics and logs: outbound, inbound, admin, control. */
  readonly name: string;
  readonly limits: ListenerLimits;
  readonly metrics: Registry;
  readonly logger: Logger;
}

/** What a refused request head is answered with when nothing has been written on its connection yet. */
const REPLIES: Record<Exclude<RejectionReason, 'connection_limit' | 'http2_prior_knowledge' | 'upgrade' | 'http2_abuse'>, { status: string; code: string; message: string }> = {
  bad_request: { status: '400 Bad Request', code: 'BAD_REQUEST', message: 'the request could not be parsed as HTTP/1.1' },
  request_timeout: { status: '408 Request Timeout', code: 'REQUEST_TIMEOUT', message: 'the request did not arrive in time' },
  headers_too_large: { status: '431 Request Header Fields Too Large', code: 'HEADERS_TOO_LARGE', message: 'the request head is larger than this server accepts' },
  payload_too_large: { status: '413 Content Too Large', code: 'PAYLOAD_TOO_LARGE', message: 'a chunk of the request body carries more extension data than this server accepts' },
  connect: { status: '501 Not Implemented', code: 'NOT_IMPLEMENTED', message: 'CONNECT is not supported by this proxy yet' },
};

/**
 * The HTTP servers of one listener share its limits and its rejection counts. `front` is the socket that accepts
 * connections when it is not the HTTP server itself (an mTLS listener sniffing each connection): the cap goes there.
 */
export class ListenerGuard {
  readonly rejections: ListenerRejections;

  constructor(private readonly options: ListenerGuardOptions) {
    this.rejections = new ListenerRejections(options.name, options.metrics, options.logger);
  }

  get limits(): ListenerLimits {
    return this.options.limits;
  }

  /** Timeouts and refusals on an HTTP server; the connection cap too unless `acceptsOwnConnections` is false. */
  protect(server: HttpServer, acceptsOwnConnections = true): void {
    const { limits } = this.options;
    server.requestTimeout = limits.requestTimeoutMs;
    server.headersTimeout = effectiveHeadersTimeout(limits);
    server.keepAliveTimeout = limits.idleTimeoutMs;
    // Node looks for late heads and requests on this period (30 s by default): a fraction of the head timeout keeps the cut close to it.
    (server as HttpServer & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(100, Math.min(1_000, Math.floor(server.headersTimeout / 10)));
    if (acceptsOwnConnections) this.cap(server);
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => this.onClientError(error, socket));
    server.on('connect', (_req: IncomingMessage, socket: Socket) => this.refuseConnect(socket));
  }

  /** The connection cap on the server that accepts the listener's connections. */
  cap(server: NetServer): void {
    server.maxConnections = this.options.limits.maxConnections;
    server.on('drop', () => this.rejections.record('connection_limit', 'a connection was refused: the listener holds its maximum of connections'));
  }

  private onClientError(error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket): void {
    // Node reports the rest of a refused connection's bytes too (an HTTP/2 preface arrives in several parts): one answer each.
    if (refused.has(socket)) {
      socket.destroy();
      return;
    }
    refused.add(socket);
    if (error.code === 'HPE_PAUSED_H2_UPGRADE' && startsWithHttp2Preface(error.rawPacket)) {
      this.rejections.record('http2_prior_knowledge', 'an HTTP/2 connection with prior knowledge was refused: this listener speaks HTTP/1.1');
      this.send(socket, http2Refusal());
      return;
    }
    // Only the parser's refusals and Node's timeouts are the client's request; a reset, a broken pipe or a TLS record
    // error is the connection's end, not a refusal worth counting or answering.
    const code = error.code ?? '';
    if (!code.startsWith('HPE_') && code !== 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.destroy();
      return;
    }
    const reason = reasonOf(code);
    this.rejections.record(reason, `a request was refused before reaching weft: ${error.message}`);
    this.reply(socket, reason);
  }

  private refuseConnect(socket: Socket): void {
    this.rejections.record('connect', 'a CONNECT request was refused: tunnels are not supported yet');
    this.reply(socket, 'connect');
  }

  /** Writes the refusal when no response has started on the connection (as Node itself would), then closes it. */
  private reply(socket: Socket, reason: keyof typeof REPLIES): void {
    const pending = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (pending != null && pending.headersSent === true) {
      socket.destroy();
      return;
    }
    const { status, code, message } = REPLIES[reason];
    const body = JSON.stringify({ code, message });
    this.send(socket, `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\nx-weft-error: ${code}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }

  /**
   * Sends the last bytes of a connection and closes it. Node took its own error listener off a socket it hands to
   * 'connect' (and a client may reset any socket while the answer is written): without one, that reset would be an
   * uncaught exception, so the socket gets a listener that only closes it.
   */
  private send(socket: Socket, bytes: string | Buffer): void {
    socket.on('error', destroySocket);
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(bytes);
    // A peer that stops reading must not keep the socket: what was not flushed soon is dropped.
    setTimeout(destroySocket.bind(socket), 1_000).unref();
  }
}

/** Connections already answered with a refusal. */
const refused = new WeakSet<Socket>();

function destroySocket(this: Socket): void {
  this.destroy();
}

function reasonOf(code: string): keyof typeof REPLIES {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'request_timeout';
    case 'HPE_HEADER_OVERFLOW':
      return 'headers_too_large';
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 'payload_too_large';
    default:
      return 'bad_request';
  }
}

function startsWithHttp2Preface(raw: Buffer | undefined): boolean {
  return raw !== undefined && raw.subarray(0, HTTP2_PREFACE_START.length).equals(HTTP2_PREFACE_START);
}
