// Transport/http2: the server side of one HTTP/2 stream — its request in as a MeshRequest, the stack's answer out as HEADERS, DATA and trailers (gRPC errors as Trailers-Only).
import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { AmbiguousHostError, NotImplementedError, WeftError } from '../../core/index.js';
import { errorReply, grpcErrorReply, isGrpcContentType, type FlowControl, type HeaderMap, type RawHeaders } from '../../http/index.js';
import { exchangeOf, onClientClose, onClientDrain } from '../exchange-events.js';
import { forwardRequestHeaders } from '../http1/hop-by-hop.js';
import { isHostField } from '../http1/request-screen.js';
import { ServerExchange, type ServerEdge, type ServerRequestHead } from '../server-exchange.js';
import { toHttp2Headers } from './headers.js';
import { closeByServer } from './server-sessions.js';

/** A stream's request as the stages get it: Host from :authority (HTTP/1.1 endpoints need one), no pseudo- or connection-level fields. */
export function http2RequestHead(headers: IncomingHttpHeaders, rawHeaders: readonly string[], endStream: boolean): ServerRequestHead {
  const authority = headers[':authority'];
  const host = headers.host;
  const regular: string[] = [];
  let cookies: string[] | null = null;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.charCodeAt(0) === 0x3a /* : */) continue;
    // HTTP/2 may split Cookie into several fields; HTTP/1.1 wants one (RFC 9113 8.2.3).
    if (name.length === 6 && name.toLowerCase() === 'cookie') (cookies ??= []).push(rawHeaders[i + 1]!);
    else regular.push(name, rawHeaders[i + 1]!);
  }
  if (cookies !== null) regular.push('cookie', cookies.join('; '));
  const forwarded = forwardRequestHeaders(regular).headers;
  const target = typeof authority === 'string' ? authority : (host ?? '');
  if (typeof host !== 'string' && target !== '') forwarded.push('host', target);
  return { method: String(headers[':method'] ?? 'GET'), authority: target, path: String(headers[':path'] ?? '/'), headers: forwarded, hasBody: !endStream };
}

/** What a listener refuses of an HTTP/2 request before routing it; null when it may go on. */
export function screenHttp2Request(head: ServerRequestHead, headers: IncomingHttpHeaders): WeftError | null {
  // :authority and Host both present and different: which one the endpoint would read is ambiguous (RFC 9113 8.3.1), as two Host headers are.
  const host = headers.host;
  if (typeof host === 'string' && typeof headers[':authority'] === 'string' && headers[':authority'] !== host) return new AmbiguousHostError();
  if (head.method === 'CONNECT') return new NotImplementedError('CONNECT over HTTP/2');
  if (head.authority !== '' && !isHostField(head.authority)) return new WeftError('BAD_REQUEST', `the authority "${head.authority.slice(0, 64)}" is not host[:port]`);
  if (head.path.charCodeAt(0) !== 0x2f /* / */) return new WeftError('BAD_REQUEST', `the path "${head.path.slice(0, 64)}" is not origin-form`);
  return null;
}

function onWantTrailers(this: ServerHttp2Stream): void {
  const exchange = exchangeOf(this);
  if (exchange instanceof Http2ServerExchange) exchange.sendTrailers();
}

function flushHead(exchange: Http2ServerExchange): void {
  exchange.flushHead(false);
}

function ignoreStreamError(): void {
  // A stream's errors end in its 'close', which the exchange hears; without a listener node:http2 would throw them.
}


/**
 * One request of an HTTP/2 (or h2c) server. The response head waits for a microtask, so an answer that ends at once
 * (a Trailers-Only gRPC status, a 204) goes out as one HEADERS frame with END_STREAM; gRPC clients read a status only
 * from such a frame or from trailers. Errors before the head are answered as the client understands them: a gRPC
 * status for a gRPC call, weft's JSON reply otherwise; after it, a gRPC call gets its status in trailers and any other
 * stream is reset.
 */
export class Http2ServerExchange extends ServerExchange {
  readonly grpc: boolean;
  private head: { status: number; headers: RawHeaders } | null = null;
  private responded = false;
  private trailers: RawHeaders | null = null;
  private waitsForTrailers = false;
  private ended = false;
  private written = 0;
  private waitingDrain = false;

  constructor(
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    head: ServerRequestHead,
    edge: ServerEdge,
    replayLimitBytes: number,
    startedAt: number,
  ) {
    super(stream, edge, head, replayLimitBytes, startedAt);
    this.grpc = isGrpcContentType(headers['content-type']);
    this.request.grpc = this.grpc;
    stream.on('error', ignoreStreamError);
    stream.on('close', onClientClose);
  }

  // Downstream

  get remoteAddress(): string | undefined {
    return this.stream.session?.socket?.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.stream.session?.socket?.remotePort;
  }

  headerMap(): HeaderMap {
    return this.headers;
  }

  bytesWritten(): number {
    return this.written;
  }

  // ResponseHandler

  onStart(status: number, headers: RawHeaders, flow: FlowControl): void {
    if (this.closed) return;
    this.flow = flow;
    this.head = { status, headers };
    queueMicrotask(() => flushHead(this));
  }

  onData(chunk: Buffer): boolean {
    if (this.closed) return true;
    if (!this.responded) this.flushHead(false);
    this.written += chunk.length;
    const ok = this.stream.write(chunk);
    if (!ok && !this.waitingDrain) {
      this.waitingDrain = true;
      this.stream.once('drain', onClientDrain);
    }
    return ok;
  }

  onEnd(trailers: RawHeaders | null): void {
    if (this.answered) return;
    this.answered = true;
    if (this.closed) return;
    const hasTrailers = trailers !== null && trailers.length > 0;
    if (!this.responded) {
      if (!hasTrailers) {
        this.flushHead(true);
        this.stopUnreadBody();
        return;
      }
      this.flushHead(false, true);
    }
    this.trailers = hasTrailers ? trailers : null;
    this.endStream();
    if (!this.waitsForTrailers) this.stopUnreadBody();
  }

  onError(error: WeftError): void {
    if (this.answered) return;
    this.answered = true;
    if (this.closed) return;
    const stream = this.stream;
    if (!this.responded) {
      this.head = null;
      if (this.grpc) {
        const reply = grpcErrorReply(error);
        this.respond(reply.status, reply.headers, true, false);
      } else {
        const reply = errorReply(error);
        this.respond(reply.status, reply.headers, false, false);
        this.written += Buffer.byteLength(reply.body);
        if (!stream.destroyed) stream.end(reply.body);
      }
      this.stopUnreadBody();
      return;
    }
    // After the head a gRPC call still has its trailers to tell the status in; anything else can only be reset.
    if (this.grpc && this.waitsForTrailers && !this.ended) {
      this.trailers = grpcErrorReply(error).headers.slice(2);
      this.endStream();
      return;
    }
    closeByServer(stream, constants.NGHTTP2_INTERNAL_ERROR);
  }

  /** @internal the pending head goes out: now (a body chunk follows), or with END_STREAM when nothing does. */
  flushHead(endStream: boolean, trailersFollow = false): void {
    const head = this.head;
    if (head === null || this.responded || this.closed) return;
    this.head = null;
    this.respond(head.status, head.headers, endStream, trailersFollow || (!endStream && this.mayHaveTrailers(head.headers)));
  }

  /** @internal */
  sendTrailers(): void {
    const stream = this.stream;
    if (stream.destroyed) return;
    try {
      stream.sendTrailers(this.trailers === null ? {} : toHttp2Headers(this.trailers, Object.create(null) as OutgoingHttpHeaders));
    } catch {
      // A trailer node:http2 refuses: the body went out whole, the stream ends without them.
      closeByServer(stream, constants.NGHTTP2_NO_ERROR);
    }
    this.stopUnreadBody();
  }

  /**
   * The answer is complete while the client is still sending its body (an endpoint that answered early, a refusal):
   * its stream is closed with NO_ERROR, which tells it to stop sending (RFC 9113 8.1), rather than left open.
   */
  private stopUnreadBody(): void {
    if (this.complete) return;
    this.release();
    closeByServer(this.stream, constants.NGHTTP2_NO_ERROR);
  }

  /** @internal */
  override onClientDrain(): void {
    this.waitingDrain = false;
    super.onClientDrain();
  }

  /** @internal a stream reset mid-body ends too: that is a client that left (its 'close' follows), not a whole body. */
  override onClientEnd(): void {
    const stream = this.stream;
    if (stream.aborted || (stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR)) return;
    super.onClientEnd();
  }

  private respond(status: number, headers: RawHeaders, endStream: boolean, waitForTrailers: boolean): void {
    this.responded = true;
    const stream = this.stream;
    if (stream.destroyed || stream.headersSent) return;
    const out = toHttp2Headers(headers, { ':status': status });
    for (let i = 0; i < headers.length; i++) this.written += headers[i]!.length;
    this.waitsForTrailers = waitForTrailers;
    if (waitForTrailers) stream.once('wantTrailers', onWantTrailers);
    try {
      stream.respond(out, { endStream, waitForTrailers });
    } catch {
      // A field node:http2 refuses (the client adapters check what they pass): the client sees a reset, and the
      // stream's close cancels the attempt so that every stage lets go of it.
      closeByServer(stream, constants.NGHTTP2_INTERNAL_ERROR);
    }
    if (endStream) this.ended = true;
  }

  private endStream(): void {
    this.ended = true;
    if (!this.stream.destroyed) this.stream.end();
  }

  /** A response with a Content-Length has no trailers (an HTTP/1.1 endpoint could not have sent any); others may. */
  private mayHaveTrailers(headers: RawHeaders): boolean {
    if (this.grpc) return true;
    for (let i = 0; i < headers.length; i += 2) if (headers[i]!.length === 14 && headers[i]!.toLowerCase() === 'content-length') return false;
    return true;
  }
}
