// Transport/http2: the server side's HTTP/2 sessions — node:http2 with limits set (streams, header lists, memory, invalid frames), plus the checks Node leaves out, and their drain.
import { constants, createServer, type Http2Server, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { isGrpcContentType } from '../../http/grpc.js';
import { headerListSize } from './headers.js';

/** The receive window of a whole session. */
const SERVER_CONNECTION_WINDOW_BYTES = 8 << 20;

/** What a session was closed for, beyond nghttp2's own protocol errors. */
export type SessionAbuse = 'reset_flood' | 'settings_timeout';

/** Streams this side reset itself: not the client's doing, so not counted against it. */
const closedByServer = new WeakSet<ServerHttp2Stream>();

/** Resets a stream from the server's side (marked so the rapid-reset count leaves it out); nothing if it is gone. */
export function closeByServer(stream: ServerHttp2Stream, code: number): void {
  if (stream.destroyed) return;
  closedByServer.add(stream);
  stream.close(code);
}

export interface Http2ServerLimits {
  /** Streams a client may have open at once on one session; more are refused with REFUSED_STREAM. */
  readonly maxConcurrentStreams: number;
  /** Largest decoded header list of a request; a larger one is answered 431 (checked here: nghttp2 applies its own only once the client acknowledged it). */
  readonly maxHeaderListBytes: number;
  /** A session with no open stream for this long is closed with GOAWAY. */
  readonly idleTimeoutMs: number;
  /**
   * A stream on which nothing moves either way for this long is answered 408 (a gRPC call: DEADLINE_EXCEEDED) or, once
   * answered, reset: a client that opens streams and trickles nothing holds no upstream connection. 0: no limit.
   */
  readonly streamIdleTimeoutMs: number;
  /** Streams a client may reset before their answer, per window, before its session is closed (the rapid-reset attack). */
  readonly maxResetsPerWindow: number;
  readonly resetWindowMs: number;
  /** A client that does not acknowledge the server's SETTINGS within this time is cut off. */
  readonly settingsTimeoutMs: number;
}

export const HTTP2_SERVER_DEFAULTS: Http2ServerLimits = {
  maxConcurrentStreams: 250,
  maxHeaderListBytes: 65_536,
  idleTimeoutMs: 10_000,
  streamIdleTimeoutMs: 300_000,
  maxResetsPerWindow: 200,
  resetWindowMs: 10_000,
  settingsTimeoutMs: 10_000,
};

export interface Http2ServerOptions {
  readonly limits?: Partial<Http2ServerLimits>;
  /** A stream whose request is within the limits. */
  onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]): void;
  /** A request head larger than the limit was answered 431. */
  onHeadersTooLarge(): void;
  /** A session was closed for abuse. */
  onAbuse(reason: SessionAbuse): void;
  /** A stream went idle past its limit (and was answered or reset). */
  onStreamTimeout?(): void;
}

/** Per session: streams open, and resets by the client within the current window. */
interface SessionState {
  open: number;
  resets: number;
  windowStart: number;
}

const states = new WeakMap<Http2Session, SessionState>();

/**
 * An http2 server that never listens itself: a front hands it the connections that spoke HTTP/2 (a preface in
 * plaintext, ALPN h2 under TLS). It keeps its sessions for the drain: GOAWAY to each when draining starts, and a
 * close at its end.
 */
export class Http2Sessions {
  readonly server: Http2Server;
  private readonly sessions = new Set<Http2Session>();
  private readonly limits: Http2ServerLimits;
  private draining = false;
  /** The session node:http2 made for the connection being handed over ('session' is emitted synchronously). */
  private accepted: Http2Session | null = null;

  constructor(private readonly options: Http2ServerOptions) {
    const limits = (this.limits = { ...HTTP2_SERVER_DEFAULTS, ...options.limits });
    this.server = createServer({
      // Node's default is effectively unbounded; a client gets REFUSED_STREAM beyond it.
      settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderListBytes, enablePush: false },
      maxSessionInvalidFrames: 100,
      maxSessionRejectedStreams: 100,
      // Bounds what one session may buffer (MB, credit based); decoded headers are not charged to it, hence our own check.
      maxSessionMemory: 16,
    });
    this.server.on('session', (session: Http2Session) => this.track(session));
    this.server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => this.onStream(stream, headers, flags, rawHeaders));
    // Session errors are protocol errors of one client (nghttp2 already sent GOAWAY); they must not reach the process.
    this.server.on('sessionError', () => {});
  }

  /** A connection that spoke HTTP/2, handed over unread (paused, its first bytes put back); its session, made at once. */
  accept(socket: Socket): Http2Session | null {
    this.accepted = null;
    this.server.emit('connection', socket);
    const session = this.accepted;
    this.accepted = null;
    return session;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Draining: every session is told (GOAWAY) to open no new streams; each closes once its streams end. */
  goawayAll(): void {
    this.draining = true;
    for (const session of this.sessions) if (!session.closed && !session.destroyed) session.close();
  }

  closeIdle(): void {
    for (const session of this.sessions) if ((states.get(session)?.open ?? 0) === 0 && !session.closed) session.close();
  }

  destroyAll(): void {
    for (const session of this.sessions) session.destroy();
  }

  private track(session: Http2Session): void {
    this.accepted = session;
    const state: SessionState = { open: 0, resets: 0, windowStart: Date.now() };
    states.set(session, state);
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    session.on('error', () => {});
    // The connection's window is 64 KiB unless widened: shared by every stream, it would cap uploads over a session.
    try {
      session.setLocalWindowSize(SERVER_CONNECTION_WINDOW_BYTES);
    } catch {
      // A session already going away keeps the default.
    }
    if (this.draining) session.close();
    // The idle timer runs while no stream is open: a session holding a long call is not idle.
    session.setTimeout(this.limits.idleTimeoutMs, () => {
      if (state.open === 0) session.close();
    });
    const settings = setTimeout(() => {
      if (!session.destroyed && session.pendingSettingsAck) {
        this.options.onAbuse('settings_timeout');
        session.destroy();
      }
    }, this.limits.settingsTimeoutMs).unref();
    session.once('close', () => clearTimeout(settings));
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]): void {
    const session = stream.session;
    const state = session === undefined ? undefined : states.get(session);
    if (session !== undefined && state !== undefined) {
      state.open++;
      stream.once('close', () => this.onStreamClose(stream, session, state));
    }
    if (this.limits.streamIdleTimeoutMs > 0) {
      const grpc = isGrpcContentType(headers['content-type']);
      stream.setTimeout(this.limits.streamIdleTimeoutMs, () => this.onStreamIdle(stream, grpc));
    }
    if (headerListSize(rawHeaders) > this.limits.maxHeaderListBytes) {
      this.options.onHeadersTooLarge();
      stream.on('error', () => {});
      const body = JSON.stringify({ code: 'HEADERS_TOO_LARGE', message: 'the request head is larger than this server accepts' });
      stream.respond({ ':status': 431, 'content-type': 'application/json; charset=utf-8', 'x-weft-error': 'HEADERS_TOO_LARGE' });
      stream.end(body);
      return;
    }
    this.options.onStream(stream, headers, flags, rawHeaders);
  }

  private onStreamIdle(stream: ServerHttp2Stream, grpc: boolean): void {
    if (stream.destroyed) return;
    this.options.onStreamTimeout?.();
    if (stream.headersSent) {
      closeByServer(stream, constants.NGHTTP2_CANCEL);
      return;
    }
    // The exchange on it (if any) hears the close that follows and stops what the request waits on.
    const reply = grpc
      ? { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '4', 'grpc-message': 'REQUEST_TIMEOUT: nothing moved on the stream in time', 'x-weft-error': 'REQUEST_TIMEOUT' }
      : { ':status': 408, 'content-type': 'application/json; charset=utf-8', 'x-weft-error': 'REQUEST_TIMEOUT' };
    closedByServer.add(stream);
    try {
      stream.respond(reply, { endStream: grpc });
      if (!grpc) stream.end(JSON.stringify({ code: 'REQUEST_TIMEOUT', message: 'nothing moved on the stream in time' }));
    } catch {
      // Closed below all the same.
    }
    // The answer above still goes out first; the client is told to stop sending.
    stream.close(constants.NGHTTP2_NO_ERROR);
  }

  /**
   * A client that resets streams before their answer, over and over, is the rapid-reset attack: its session goes. Any
   * reset counts, whatever its code, except the server's own.
   */
  private onStreamClose(stream: ServerHttp2Stream, session: Http2Session, state: SessionState): void {
    state.open--;
    if (stream.rstCode === undefined || stream.headersSent || closedByServer.has(stream)) return;
    const now = Date.now();
    if (now - state.windowStart > this.limits.resetWindowMs) {
      state.windowStart = now;
      state.resets = 0;
    }
    if (++state.resets <= this.limits.maxResetsPerWindow || session.destroyed) return;
    this.options.onAbuse('reset_flood');
    session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    session.destroy();
  }
}
