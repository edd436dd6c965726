// Transport/http1: the server side of an HTTP/1.1 Upgrade (a WebSocket) — the client's socket in as a MeshRequest whose body is the tunnel, the stack's answer written raw back to it.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Transform, type Readable } from 'node:stream';
import type { WeftError } from '../../core/index.js';
import { errorReply, MeshRequest, RequestFacts, type BodyState, type Dispatch, type Downstream, type FlowControl, type HeaderMap, type RawHeaders, type RequestBody, type ResponseHandler } from '../../http/index.js';
import { forwardedHead } from './request-target.js';
import { dispatchGuarded, type BugLog, type ServerEdge } from '../server-exchange.js';
import { WebSocketCloseGate } from './websocket-frames.js';

/** The upgrade exchanges a listener has open, so that a closing listener can end them (node:http no longer tracks an upgraded socket). */
export class Tunnels {
  private readonly open = new Set<Http1UpgradeExchange>();

  get size(): number {
    return this.open.size;
  }

  add(exchange: Http1UpgradeExchange): void {
    this.open.add(exchange);
    exchange.socket.once('close', () => this.open.delete(exchange));
  }

  /** Ends every session as a drain begins (see Http1UpgradeExchange.goAway). */
  endAll(): void {
    for (const exchange of this.open) exchange.goAway();
  }

  destroyAll(): void {
    for (const exchange of this.open) exchange.socket.destroy();
  }
}

function rawHead(status: number, reason: string, headers: readonly string[], extra: string): string {
  let text = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${text}${extra}\r\n`;
}

/**
 * One Upgrade request. Its body is the client's socket, read only once an attempt pulls it (after the endpoint's 101,
 * which the client connection waits for). A non-101 answer is passed on and the connection closed after it, since the
 * client's next bytes would follow a request the server refused to switch.
 */
export class Http1UpgradeExchange implements ResponseHandler, RequestBody, Downstream {
  readonly request: MeshRequest;
  /** The client's bytes, read as they come (so its leaving is noticed before the switch) and held until the tunnel opens. */
  private readonly fromClient: Transform;
  /** A WebSocket's two directions, followed frame by frame so that a drain can close them with 1001; null for other protocols. */
  private readonly toEndpoint: WebSocketCloseGate | null;
  private readonly toClient: WebSocketCloseGate | null;
  private leaving = false;
  private opened = false;
  private ended = false;
  private flow: FlowControl | null = null;
  private switched = false;
  private answered = false;
  private closed = false;
  private waitingDrain = false;

  constructor(
    readonly req: IncomingMessage,
    readonly socket: Socket,
    head: Buffer,
    private readonly edge: ServerEdge,
    /** Upgrade's protocol token(s), as the client sent them; null serves the request plainly (an h2c offer, ignored). */
    readonly protocol: string | null,
    authority: string,
    startedAt: number,
  ) {
    const forwarded = forwardedHead(req);
    // A plain request (an ignored h2c offer) has no body: one that announced a body was refused by the screen.
    this.request = new MeshRequest(req.method ?? 'GET', authority, forwarded.path, forwarded.headers, protocol === null ? null : this, this, new RequestFacts(startedAt));
    this.request.upgrade = protocol;
    const websocket = protocol !== null && protocol.trim().toLowerCase() === 'websocket';
    this.toEndpoint = websocket ? new WebSocketCloseGate(true) : null;
    this.toClient = websocket ? new WebSocketCloseGate(false) : null;
    this.fromClient = new Transform({ transform: (chunk: Buffer, _encoding, done) => done(null, this.towardEndpoint(chunk)) });
    // Bytes the client sent after its head belong to the tunnel: read again first.
    if (head.length > 0) socket.unshift(head);
    socket.setNoDelay(true);
    // Piped, the socket pauses itself once the held bytes fill the pass-through's buffer.
    socket.pipe(this.fromClient);
    // The endpoint's connection gone, what the client still sends has nowhere to go: it is read and dropped, so that the
    // client's end is seen (a socket paused for a reader that left would never close).
    this.fromClient.once('close', () => {
      socket.unpipe(this.fromClient);
      socket.resume();
    });
    socket.on('end', () => {
      this.ended = true;
      // A client that is done before the endpoint switched has given up on the session.
      if (!this.switched && !this.answered) this.request.cancel();
    });
    socket.on('error', () => {});
    socket.on('close', () => this.onClientClose());
    socket.on('drain', () => {
      this.waitingDrain = false;
      this.flow?.resume();
    });
    edge.begin();
  }

  // Downstream

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }

  headerMap(): HeaderMap {
    return this.req.headers;
  }

  bytesWritten(): number {
    return this.socket.bytesWritten;
  }

  // RequestBody: the client's side of the tunnel.

  get complete(): boolean {
    return this.ended;
  }

  state(): BodyState {
    return this.opened ? 'spent' : 'untouched';
  }

  open(): Readable {
    this.opened = true;
    return this.fromClient;
  }

  release(): void {
    // The socket is the client's connection itself: it is closed with the exchange, not detached.
  }

  discard(): void {}

  // ResponseHandler

  onStart(status: number, headers: RawHeaders, flow: FlowControl, reason: string): void {
    if (this.closed) return;
    this.flow = flow;
    if (status === 101 && this.protocol !== null) {
      this.switched = true;
      this.socket.write(rawHead(101, reason || 'Switching Protocols', headers, `connection: upgrade\r\nupgrade: ${this.protocol}\r\n`), 'latin1');
      // Switched while the listener drains: the session is closed as soon as it opens.
      if (this.leaving) this.closeSession();
    } else {
      // Refused to switch: the answer goes out delimited by the close.
      this.socket.write(rawHead(status, reason, headers, 'connection: close\r\n'), 'latin1');
    }
  }

  onData(chunk: Buffer): boolean {
    if (this.closed) return true;
    const out = this.switched && this.toClient !== null ? this.toClient.pass(chunk) : chunk;
    if (this.leaving && this.toClient?.broken === true) this.socket.end();
    if (out.length === 0) return true;
    const ok = this.socket.write(out);
    if (!ok) this.waitingDrain = true;
    return ok;
  }

  onEnd(): void {
    if (this.answered) return;
    this.answered = true;
    if (this.closed) return;
    // A tunnel's far end is done sending: the client may still finish its side. A refused switch ends the connection.
    if (this.switched) this.socket.end();
    else this.socket.destroySoon();
  }

  onError(error: WeftError): void {
    if (this.answered) return;
    this.answered = true;
    if (this.closed) return;
    if (this.flow !== null) {
      // After the head, breaking the connection is the only signal left.
      this.socket.destroy();
      return;
    }
    const reply = errorReply(error);
    this.socket.write(rawHead(reply.status, '', reply.headers, 'connection: close\r\n') + reply.body);
    // Closed once written, whether or not the client closes its side.
    this.socket.destroySoon();
  }

  dispatchTo(stack: Dispatch, log: BugLog): void {
    dispatchGuarded(stack, this.request, this, log);
  }

  /**
   * Closes the session as a drain begins. A WebSocket gets a close frame with 1001 (going away) each way, each at the next
   * frame boundary of its direction; the endpoint answers it and closes, and its close reaches the client. Any other
   * protocol, or a stream that stops looking like WebSocket frames, gets a FIN each way. One still waiting for its
   * answer gets it first (and, switched, is closed at once; refused, its connection closes after the answer).
   */
  goAway(): void {
    this.leaving = true;
    if (this.switched) this.closeSession();
  }

  private closeSession(): void {
    if (this.closed) return;
    if (this.toClient === null || this.toEndpoint === null || this.toClient.broken || this.toEndpoint.broken) {
      this.socket.end();
      return;
    }
    const toClient = this.toClient.goAway();
    if (toClient !== null) this.socket.write(toClient);
    const toEndpoint = this.toEndpoint.goAway();
    // A client that already ended its side has nothing more to say to the endpoint, not even this.
    if (toEndpoint !== null && !this.fromClient.writableEnded) this.fromClient.push(toEndpoint);
  }

  /** The client's bytes on their way to the endpoint: after its Upgrade request, all a WebSocket client sends is frames. */
  private towardEndpoint(chunk: Buffer): Buffer | undefined {
    if (this.toEndpoint === null) return chunk;
    const out = this.toEndpoint.pass(chunk);
    if (this.leaving && this.toEndpoint.broken) this.socket.end();
    return out.length > 0 ? out : undefined;
  }

  private onClientClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.answered) this.request.cancel();
    this.edge.end();
  }
}
