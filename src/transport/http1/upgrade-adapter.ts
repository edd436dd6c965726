// Transport/http1: the server side of an HTTP/1.1 Upgrade (a WebSocket) — the client's socket in as a MeshRequest whose body is the tunnel, the stack's answer written raw back to it.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { WeftError } from '../../core/index.js';
import { asWeftError, errorReply, MeshRequest, RequestFacts, type BodyState, type Dispatch, type Downstream, type FlowControl, type HeaderMap, type RawHeaders, type RequestBody, type ResponseHandler } from '../../http/index.js';
import { forwardRequestHeaders } from './hop-by-hop.js';
import { originForm, withTargetHost } from './request-target.js';
import type { BugLog, ServerEdge } from './server-adapter.js';

/** The sockets of live tunnels, so that a closing listener can end them (node:http no longer tracks an upgraded socket). */
export class Tunnels {
  private readonly sockets = new Set<Socket>();

  get size(): number {
    return this.sockets.size;
  }

  add(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /** Ends every tunnel: a FIN each way, so both ends see a clean close rather than a reset. */
  endAll(): void {
    for (const socket of this.sockets) socket.end();
  }

  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
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
    const target = req.url ?? '/';
    const forwarded = forwardRequestHeaders(req.rawHeaders);
    const path = originForm(target);
    const headers = path !== target ? withTargetHost(forwarded.headers, target) : forwarded.headers;
    this.request = new MeshRequest(req.method ?? 'GET', authority, path, headers, this, this, new RequestFacts(startedAt));
    this.request.upgrade = protocol;
    // Bytes the client sent after its head belong to the tunnel: read again first.
    if (head.length > 0) socket.unshift(head);
    socket.pause();
    socket.setNoDelay(true);
    socket.on('end', () => {
      this.ended = true;
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
    return this.socket;
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
    try {
      stack(this.request, this);
    } catch (error) {
      log.error({ err: error }, 'a request-path stage threw; the upgrade was answered INTERNAL');
      this.onError(asWeftError(error));
    }
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
