// Transport/http1: the server side of an HTTP/1.1 Upgrade (a WebSocket) — the client's socket in as a MeshRequest whose body is the tunnel, the stack's answer written raw back to it.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import type { WeftError } from '../../core/index.js';
import { errorReply, MeshRequest, RequestFacts, type BodyState, type Dispatch, type Downstream, type FlowControl, type HeaderMap, type RawHeaders, type RequestBody, type ResponseHandler } from '../../http/index.js';
import { forwardedHead } from './request-target.js';
import { dispatchGuarded, type BugLog, type ServerEdge } from '../server-exchange.js';

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

  /**
   * Ends every switched session: a FIN each way, so both ends see a clean close rather than a reset. One still waiting
   * for its answer gets it, and its connection closes after it, as a drained request's does.
   */
  endAll(): void {
    for (const exchange of this.open) if (exchange.isSwitched) exchange.socket.end();
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
  private readonly fromClient = new PassThrough();
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
    // Bytes the client sent after its head belong to the tunnel: read again first.
    if (head.length > 0) socket.unshift(head);
    socket.setNoDelay(true);
    // Piped, the socket pauses itself once the held bytes fill the pass-through's buffer.
    socket.pipe(this.fromClient);
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
    } else {
      // Refused to switch: the answer goes out delimited by the close.
      this.socket.write(rawHead(status, reason, headers, 'connection: close\r\n'), 'latin1');
    }
  }

  onData(chunk: Buffer): boolean {
    if (this.closed) return true;
    const ok = this.socket.write(chunk);
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

  /** Whether the endpoint switched protocols (the tunnel is up). */
  get isSwitched(): boolean {
    return this.switched;
  }

  private onClientClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.answered) this.request.cancel();
    this.edge.end();
  }
}
