// Transport/http2: one multiplexed HTTP/2 session per endpoint (h2c with prior knowledge, or h2 by ALPN under mTLS), the client side of the request path for services that speak HTTP/2 or gRPC.
import { connect as connectSession, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { CANCELLED, ConnectFailedError, UpstreamProtocolError, UpstreamResetError, UpstreamTimeoutError, WeftError, systemClock, type Clock, type TimerHandle } from '../../core/index.js';
import { type Cancellable, type FlowControl, type MeshRequest, type RawHeaders, type ResponseHandler } from '../../http/index.js';
import { formatHostPort, type Endpoint } from '../../model/index.js';
import type { Connector } from '../connector.js';
import type { PoolOptions } from '../http1/endpoint-pool.js';
import { endpointConnector, isPeerRefusal, PoolClosedError, POOL_DEFAULTS, warnOfHandlerError } from '../pool-support.js';
import { fromHttp2Headers, toHttp2Headers } from './headers.js';

/** What a pool of either protocol offers the endpoint stage. */
export interface UpstreamPool {
  readonly address: string;
  dispatch(req: MeshRequest, handler: ResponseHandler): void;
  /** Stops taking requests; open ones finish. */
  retire(): void;
  /** Closes everything now; requests in flight fail. */
  destroy(): void;
}

/** Settings this side announces: no push, and a window wide enough that one stream's body does not wait on every round trip. */
const CLIENT_SETTINGS = { enablePush: false, initialWindowSize: 1 << 20 } as const;

/** The peer answered the TLS handshake with another protocol than HTTP/2 (an older sidecar offers only HTTP/1.1). */
class NotHttp2Error extends Error {
  readonly code = 'ERR_WEFT_NOT_HTTP2';
}

/**
 * One endpoint's sessions: every request is a stream on one. Usually one session carries everything; another is opened
 * when every session has as many streams open as its peer allows. A session the endpoint sent GOAWAY on serves the
 * streams it accepted and takes no new ones. A session without streams for the idle time closes.
 */
export class Http2EndpointPool implements UpstreamPool {
  readonly clock: Clock;
  readonly host: string;
  readonly port: number;
  readonly address: string;
  readonly onHandlerError: (error: unknown) => void;
  private readonly connect: Connector;
  private readonly onSocket: ((socket: Socket) => void) | undefined;
  private readonly idleTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  /** Sessions that take new streams; one that got GOAWAY, or is closing, leaves this list. */
  private readonly usable: ClientHttp2Session[] = [];
  /** Attempts waiting for the session being opened; null when none is. */
  private waiting: Http2Attempt[] | null = null;
  private readonly sessions = new Set<ClientHttp2Session>();
  private retired = false;

  constructor(endpoint: Pick<Endpoint, 'host' | 'port' | 'address'>, options: PoolOptions = {}) {
    this.host = endpoint.host;
    this.port = endpoint.port;
    this.address = endpoint.address;
    this.clock = options.clock ?? systemClock;
    this.idleTimeoutMs = options.idleTimeoutMs ?? POOL_DEFAULTS.idleTimeoutMs;
    this.connectTimeoutMs = options.connectTimeoutMs ?? POOL_DEFAULTS.connectTimeoutMs;
    this.onSocket = options.onSocket;
    this.onHandlerError = options.onHandlerError ?? warnOfHandlerError;
    this.connect = endpointConnector(endpoint, options);
  }

  dispatch(req: MeshRequest, handler: ResponseHandler): void {
    const attempt = new Http2Attempt(req, handler, this);
    req.pending = attempt;
    this.place(attempt);
  }

  /** Starts an attempt on a session with room, or holds it for the session being opened (opening one if none is). */
  private place(attempt: Http2Attempt): void {
    const session = this.pick();
    if (session !== null) {
      attempt.start(session);
      return;
    }
    if (this.retired) {
      attempt.onConnectFailed(new PoolClosedError(`the pool of ${this.address} is closed`));
      return;
    }
    if (this.waiting !== null) {
      this.waiting.push(attempt);
      return;
    }
    this.waiting = [attempt];
    this.open();
  }

  retire(): void {
    if (this.retired) return;
    this.retired = true;
    // GOAWAY from our side: streams in flight finish, then each session closes.
    for (const session of this.sessions) session.close();
    this.usable.length = 0;
  }

  destroy(): void {
    this.retire();
    const waiting = this.waiting;
    this.waiting = null;
    for (const attempt of waiting ?? []) attempt.onConnectFailed(new PoolClosedError(`the pool of ${this.address} was closed`));
    for (const session of [...this.sessions]) session.destroy();
  }

  /** Sessions open to the endpoint. */
  size(): number {
    return this.sessions.size;
  }

  /**
   * A session with room for one more stream; when all are full, the least busy once MAX_SESSIONS are open (nghttp2
   * then queues the stream until one ends, bounded by the attempt's timeout), else null: a new session is opened.
   */
  private pick(): ClientHttp2Session | null {
    let least: ClientHttp2Session | null = null;
    let leastOpen = Infinity;
    for (const session of this.usable) {
      const open = openStreams(session);
      if (open < streamCapacity(session)) return session;
      if (open < leastOpen) {
        least = session;
        leastOpen = open;
      }
    }
    return this.usable.length >= MAX_SESSIONS ? least : null;
  }

  private unusable(session: ClientHttp2Session): void {
    const at = this.usable.indexOf(session);
    if (at !== -1) this.usable.splice(at, 1);
  }

  private open(): void {
    this.connect({ host: this.host, port: this.port }, (error, socket) => {
      if (error === null && socket !== null && this.retired) {
        socket.destroy();
        error = new PoolClosedError(`the pool of ${this.address} was closed`);
      }
      // Under TLS the peer must have chosen h2: an HTTP/1.1 socket handed to node:http2 fails only later, obscurely.
      const alpn = socket !== null && 'alpnProtocol' in socket ? (socket as TLSSocket).alpnProtocol : 'h2';
      if (error === null && socket !== null && alpn !== 'h2') {
        socket.destroy();
        error = new NotHttp2Error(`${this.address} does not speak HTTP/2 (it chose ${alpn === false ? 'no protocol' : String(alpn)})`);
      }
      if (error !== null || socket === null) {
        this.failWaiting(error ?? new Error('the connector gave no socket'));
        return;
      }
      try {
        this.adopt(socket);
      } catch (thrown) {
        // node:http2 refused the socket: reported as a failed connection, never thrown from a socket's event.
        socket.destroy();
        this.failWaiting(thrown instanceof Error ? thrown : new Error(String(thrown)));
      }
    });
  }

  private failWaiting(error: Error): void {
    const waiting = this.waiting ?? [];
    this.waiting = null;
    for (const attempt of waiting) attempt.onConnectFailed(error);
  }

  /**
   * The new session takes streams once the peer's SETTINGS have come (their stream limit with them, so no stream is
   * sent that the peer must refuse); the attempts held for it are placed then, on it while it has room.
   */
  private onSettled(session: ClientHttp2Session): void {
    settled.add(session);
    if (this.retired || session.closed || session.destroyed) return;
    this.usable.push(session);
    const waiting = this.waiting ?? [];
    this.waiting = null;
    for (const attempt of waiting) if (!attempt.isDone) this.place(attempt);
  }

  private adopt(socket: Socket): void {
    this.onSocket?.(socket);
    const secure = 'encrypted' in socket;
    const session = connectSession(`${secure ? 'https' : 'http'}://${formatHostPort(this.host, this.port)}`, {
      createConnection: () => socket,
      settings: CLIENT_SETTINGS,
      maxSessionMemory: 16,
    });
    this.sessions.add(session);
    // The connection's window is 64 KiB unless widened: shared by every stream, it would cap a session's throughput.
    session.once('connect', () => {
      if (!session.destroyed) session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    });
    session.on('error', () => {
      // Each stream on it fails through its own close; the session is given up below.
    });
    const timer = setTimeout(() => session.destroy(), this.connectTimeoutMs);
    session.once('remoteSettings', () => {
      clearTimeout(timer);
      this.onSettled(session);
    });
    // The endpoint is going away: its accepted streams finish here, new ones go to a fresh session.
    session.on('goaway', () => this.unusable(session));
    session.once('close', () => {
      clearTimeout(timer);
      this.sessions.delete(session);
      this.unusable(session);
      // Closed before its SETTINGS came: the attempts held for it never started.
      if (!settled.has(session)) this.failWaiting(new Error(`the HTTP/2 session with ${this.address} closed before it was set up`));
    });
    session.setTimeout(this.idleTimeoutMs, () => {
      // Idle means no stream open: a long call with nothing on the wire keeps its session.
      if (openStreams(session) === 0) {
        this.unusable(session);
        session.close();
      }
    });
  }
}

/** The receive window of a whole session (each stream's is CLIENT_SETTINGS.initialWindowSize). */
export const CONNECTION_WINDOW_BYTES = 8 << 20;

/** Sessions opened per endpoint before new streams queue on the least busy one. */
const MAX_SESSIONS = 8;
/** A peer's stream limit when its SETTINGS name none (RFC 9113 suggests no fewer than 100). */
const ASSUMED_STREAM_LIMIT = 100;

const streamCounts = new WeakMap<ClientHttp2Session, number>();
/** Sessions whose peer has sent its SETTINGS: their stream limit is known. */
const settled = new WeakSet<ClientHttp2Session>();

function streamCapacity(session: ClientHttp2Session): number {
  return session.remoteSettings.maxConcurrentStreams ?? ASSUMED_STREAM_LIMIT;
}

function openStreams(session: ClientHttp2Session): number {
  return streamCounts.get(session) ?? 0;
}

function countStream(session: ClientHttp2Session, delta: number): void {
  streamCounts.set(session, openStreams(session) + delta);
}

function onResponseTimeout(attempt: Http2Attempt): void {
  attempt.onTimeout();
}

/** One attempt as one stream. Calls about an attempt that was given up (dropped, timed out, cancelled) are ignored. */
class Http2Attempt implements FlowControl, Cancellable {
  private stream: ClientHttp2Stream | null = null;
  private started = false;
  private done = false;
  private timer: TimerHandle | null = null;
  private trailers: RawHeaders | null = null;

  constructor(
    readonly request: MeshRequest,
    private readonly handler: ResponseHandler,
    private readonly pool: Http2EndpointPool,
  ) {}

  get isDone(): boolean {
    return this.done;
  }

  onConnectFailed(error: Error): void {
    if (this.done) return;
    this.fail(isPeerRefusal(error) ? error : new ConnectFailedError(this.pool.address, error));
  }

  start(session: ClientHttp2Session): void {
    if (this.done) return;
    const req = this.request;
    const headers: OutgoingHttpHeaders = toHttp2Headers(req.headers, { ':method': req.method, ':path': req.path, ':authority': req.authority || this.pool.address, ':scheme': session.encrypted ? 'https' : 'http' }, 'host');
    // gRPC servers may insist on it; HTTP/1.1 clients never send it on (it is hop-by-hop there).
    if (req.grpc) headers.te = 'trailers';
    const body = req.body;
    let stream: ClientHttp2Stream;
    try {
      // endStream is given either way: node:http2 would otherwise end a DELETE's stream before its body.
      stream = session.request(headers, { endStream: body === null });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A session that just went away took nothing of the request: it may go elsewhere, or on a fresh session.
      if (code === 'ERR_HTTP2_GOAWAY_SESSION' || code === 'ERR_HTTP2_INVALID_SESSION' || code === 'ERR_HTTP2_OUT_OF_STREAMS') this.fail(new ConnectFailedError(this.pool.address, error));
      else this.fail(new WeftError('INTERNAL', 'the request could not be forwarded over HTTP/2', { cause: error }));
      return;
    }
    this.stream = stream;
    countStream(session, 1);
    stream.on('response', (head: IncomingHttpHeaders, flags: number) => this.onResponse(head, flags));
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('trailers', (trailers: IncomingHttpHeaders) => {
      this.trailers = fromHttp2Headers(trailers);
    });
    // A stream whose session died mid-response ends too, but reset: that is a broken response, reported by 'close'.
    stream.on('end', () => {
      if (!(stream.destroyed && stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR)) this.onComplete();
    });
    stream.on('error', () => {
      // Reported through 'close' with its code.
    });
    stream.once('close', () => {
      countStream(session, -1);
      this.onClose(stream.rstCode);
    });
    if (body === null) {
      this.onRequestSent();
      return;
    }
    const source = body.open();
    if (Buffer.isBuffer(source)) {
      stream.end(source);
      this.onRequestSent();
      return;
    }
    source.once('end', () => this.onRequestSent());
    source.pipe(stream);
  }

  // FlowControl

  resume(): void {
    if (!this.done) this.stream?.resume();
  }

  drop(): void {
    if (this.done) return;
    this.finish();
    this.request.body?.release();
    this.abort(constants.NGHTTP2_CANCEL);
  }

  // Cancellable

  cancel(): void {
    if (this.done) return;
    this.finish();
    this.request.body?.release();
    this.abort(constants.NGHTTP2_CANCEL);
    this.handler.onError(CANCELLED);
  }

  /** @internal */
  onTimeout(): void {
    this.timer = null;
    if (this.done || this.started) return;
    this.fail(new UpstreamTimeoutError(this.pool.address, this.request.attemptTimeoutMs));
    this.abort(constants.NGHTTP2_CANCEL);
  }

  private onRequestSent(): void {
    if (this.done || this.started) return;
    const ms = this.request.attemptTimeoutMs;
    // From now on the endpoint owes a response within the timeout, as on HTTP/1.1.
    if (ms > 0) this.timer = this.pool.clock.setTimer(onResponseTimeout, ms, this);
  }

  private onResponse(head: IncomingHttpHeaders, flags: number): void {
    if (this.done) return;
    this.clearTimer();
    const status = Number(head[':status']);
    if (!Number.isInteger(status) || status < 200 || status > 999) {
      this.fail(new UpstreamProtocolError(this.pool.address, new Error(`the endpoint answered :status ${String(head[':status'])}`)));
      this.abort(constants.NGHTTP2_PROTOCOL_ERROR);
      return;
    }
    this.started = true;
    try {
      this.handler.onStart(status, fromHttp2Headers(head), this, '');
      // A head that ends the stream (a Trailers-Only gRPC status, a 204) is the whole answer: said at once, so the
      // client's side can send it as one frame too.
      if ((flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0 && !this.done) this.onComplete();
    } catch (error) {
      this.handlerThrew(error);
    }
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    try {
      if (!this.handler.onData(chunk)) this.stream?.pause();
    } catch (error) {
      this.handlerThrew(error);
    }
  }

  private onComplete(): void {
    if (this.done || !this.started) return;
    this.finish();
    // The endpoint may answer before it has read the whole body: nothing of it is owed any more.
    this.request.body?.release();
    try {
      this.handler.onEnd(this.trailers);
    } catch (error) {
      this.pool.onHandlerError(error);
    }
  }

  private onClose(rstCode: number | undefined): void {
    if (this.done) return;
    const target = this.pool.address;
    // REFUSED_STREAM (or a stream past the endpoint's GOAWAY) was not processed at all (RFC 9113 8.7): safe anywhere.
    if (!this.started && rstCode === constants.NGHTTP2_REFUSED_STREAM) this.fail(new ConnectFailedError(target, new Error('the endpoint refused the stream')));
    else this.fail(new UpstreamResetError(target, new Error(`the stream was reset (code ${rstCode ?? 'none'})`)));
  }

  private fail(error: WeftError): void {
    this.finish();
    this.request.body?.release();
    try {
      this.handler.onError(error);
    } catch (thrown) {
      this.pool.onHandlerError(thrown);
    }
  }

  private handlerThrew(error: unknown): void {
    this.finish();
    this.request.body?.release();
    this.abort(constants.NGHTTP2_INTERNAL_ERROR);
    this.pool.onHandlerError(error);
  }

  private finish(): void {
    this.done = true;
    this.clearTimer();
    if (this.request.pending === this) this.request.pending = null;
  }

  private abort(code: number): void {
    const stream = this.stream;
    this.stream = null;
    if (stream !== null && !stream.destroyed) stream.close(code);
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      this.pool.clock.clearTimer(this.timer);
      this.timer = null;
    }
  }
}
