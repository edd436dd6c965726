// Transport/http1: one keep-alive connection of the client side — writes an attempt's request, parses its response, goes back to its pool or closes.
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Http1Attempt } from './client-attempt.js';
import { requestHead } from './request-head.js';
import { ResponseParser, type ResponseEvents } from './response-parser.js';

/** What a connection tells its pool. */
export interface ConnectionOwner {
  /** The response is complete and the connection may carry another request (the server's Keep-Alive hint in ms, or 0). */
  release(connection: Http1ClientConnection, keepAliveHintMs: number): void;
  /** The connection is closed (by either side) and is no longer the pool's. */
  forget(connection: Http1ClientConnection): void;
  /** Host for a request that names none. */
  readonly defaultHost: string;
}

/** The other side closed while a response was owed. */
export class UpstreamClosedError extends Error {
  readonly code = 'UPSTREAM_CLOSED';
  constructor(cause?: Error) {
    super('the upstream closed the connection before the response was complete', cause === undefined ? undefined : { cause });
  }
}

/** The request body a client sent ended short of the length its head announced. */
class BodyLengthError extends Error {
  readonly code = 'ERR_WEFT_BODY_LENGTH';
}

/**
 * One request at a time (no pipelining: a slow response never holds back another request). The listeners are made once
 * per connection, not per request; the attempt it carries is told everything through plain method calls.
 */
export class Http1ClientConnection implements ResponseEvents {
  /** The attempt whose response is being read; null while idle. */
  private attempt: Http1Attempt | null = null;
  private readonly parser: ResponseParser;
  private body: Readable | null = null;
  private chunked = false;
  /** Body bytes still owed by a body of announced length. */
  private remaining = 0;
  private requestSent = false;
  private paused = false;
  private completed = false;
  private trailers: string[] | null = null;
  private closed = false;
  /** An Upgrade request was sent: a 101 turns the connection into a tunnel. */
  private upgrading = false;
  /** The endpoint switched protocols: bytes pass both ways unparsed until each side ends. */
  private tunnel = false;
  private switched = false;
  private socketError: Error | undefined = undefined;
  /** Until when an idle connection may be taken again (performance.now(), ms). */
  idleUntil = 0;

  private readonly onBodyData = (chunk: Buffer): void => this.writeBody(chunk);
  private readonly onBodyEnd = (): void => this.endBody();
  private readonly onBodyError = (error: Error): void => this.abortWith(error);
  private readonly onDrain = (): void => {
    this.body?.resume();
  };

  constructor(
    readonly socket: Socket,
    private readonly owner: ConnectionOwner,
  ) {
    this.parser = new ResponseParser(this);
    socket.on('data', (data: Buffer) => this.onSocketData(data));
    socket.on('end', () => this.onSocketEnd());
    socket.on('error', (error: Error) => {
      this.socketError = error;
    });
    socket.on('close', () => this.onSocketClose());
    socket.on('drain', this.onDrain);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Writes the attempt's request; its response comes back through the attempt. */
  send(attempt: Http1Attempt): void {
    const req = attempt.request;
    this.attempt = attempt;
    this.completed = false;
    this.trailers = null;
    this.requestSent = false;
    this.upgrading = req.upgrade !== null;
    // A tunnel's body is the client's side of it: opened once the endpoint has switched, not before.
    const body = req.body === null || this.upgrading ? null : req.body.open();
    let head;
    try {
      head = requestHead(req.method, req.path, req.headers, this.owner.defaultHost, body, req.upgrade);
    } catch (error) {
      // Nothing was written: the connection stays good for the next request.
      this.attempt = null;
      if (body !== null && !Buffer.isBuffer(body)) body.destroy();
      this.owner.release(this, -1);
      attempt.onUnwritable(error as Error);
      return;
    }
    attempt.onWriting(this);
    this.parser.expect(req.method);
    const socket = this.socket;
    if (body === null || Buffer.isBuffer(body)) {
      if (body !== null && body.length > 0) {
        socket.cork();
        socket.write(head.text, 'latin1');
        socket.write(body);
        socket.uncork();
      } else {
        socket.write(head.text, 'latin1');
      }
      this.requestSent = true;
      attempt.onRequestSent();
      return;
    }
    socket.write(head.text, 'latin1');
    this.body = body;
    this.chunked = head.chunked;
    this.remaining = head.contentLength;
    body.on('data', this.onBodyData);
    body.on('end', this.onBodyEnd);
    body.on('error', this.onBodyError);
  }

  /** The consumer drained: read the response on. */
  resumeReading(): void {
    if (this.paused && !this.closed) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** The attempt no longer wants the response, but the connection can be kept once it has been read to its end. */
  discardResponse(): void {
    this.resumeReading();
  }

  /** Closes the connection whatever it carries; the attempt (already finished) hears nothing more. */
  abort(): void {
    this.attempt = null;
    this.destroy();
  }

  /** Closes the connection; an attempt still owed a response fails with `error`. */
  close(error: Error): void {
    if (this.attempt !== null && !this.completed) this.fail(error, false);
    else this.abort();
  }

  // The request body.

  private writeBody(chunk: Buffer): void {
    const socket = this.socket;
    let ok: boolean;
    if (this.chunked) {
      if (chunk.length === 0) return;
      socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      ok = socket.write('\r\n', 'latin1');
      socket.uncork();
    } else {
      this.remaining -= chunk.length;
      if (this.remaining < 0) {
        this.abortWith(new BodyLengthError('the request body is longer than its Content-Length'));
        return;
      }
      ok = socket.write(chunk);
    }
    if (!ok) this.body?.pause();
  }

  private endBody(): void {
    if (this.tunnel) {
      // The client is done sending: so is this side, toward the endpoint; the other direction runs on.
      this.detachBody();
      this.socket.end();
      return;
    }
    if (!this.chunked && this.remaining !== 0) {
      this.abortWith(new BodyLengthError('the request body is shorter than its Content-Length'));
      return;
    }
    if (this.chunked) this.socket.write('0\r\n\r\n', 'latin1');
    this.detachBody();
    this.requestSent = true;
    // A response that came whole before the body was all sent is over already.
    if (!this.completed) this.attempt?.onRequestSent();
  }

  private detachBody(): void {
    const body = this.body;
    if (body === null) return;
    this.body = null;
    body.removeListener('data', this.onBodyData);
    body.removeListener('end', this.onBodyEnd);
    body.removeListener('error', this.onBodyError);
  }

  // The response.

  onHead(status: number, reason: string, headers: string[]): void {
    if (status === 101) this.switched = this.upgrading;
    this.attempt?.onHead(status, reason, headers);
  }

  onBody(chunk: Buffer): void {
    const attempt = this.attempt;
    if (attempt !== null && !attempt.onData(chunk) && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  onComplete(trailers: string[] | null): void {
    // Finished once execute() returns: whether bytes followed the response decides if the connection can be kept.
    this.completed = true;
    this.trailers = trailers;
  }

  private onSocketData(data: Buffer): void {
    if (this.closed) return;
    if (this.tunnel) {
      this.onBody(data);
      return;
    }
    if (this.attempt === null || this.completed) {
      // Bytes nobody asked for (after a response, or on an idle connection): the framing can no longer be trusted.
      this.destroy();
      return;
    }
    let consumed: number;
    try {
      consumed = this.parser.execute(data);
    } catch (error) {
      this.fail(error as Error, true);
      return;
    }
    if (this.completed && this.switched) this.openTunnel(data.subarray(consumed));
    else if (this.completed) this.complete(consumed === data.length);
  }

  /** The endpoint answered 101: from here on the connection carries the tunnel, and never goes back to the pool. */
  private openTunnel(rest: Buffer): void {
    this.tunnel = true;
    const attempt = this.attempt;
    if (attempt === null) {
      this.destroy();
      return;
    }
    if (rest.length > 0) this.onBody(rest);
    const body = attempt.request.body?.open() ?? null;
    if (body === null || Buffer.isBuffer(body)) return;
    this.body = body;
    this.chunked = false;
    this.remaining = Number.POSITIVE_INFINITY;
    body.on('data', this.onBodyData);
    body.on('end', this.onBodyEnd);
    body.on('error', this.onBodyError);
    body.resume();
  }

  private onSocketEnd(): void {
    if (this.closed) return;
    if (this.tunnel) {
      // The endpoint is done sending: the client is told, and the connection closes once the client is done too.
      const attempt = this.attempt;
      this.attempt = null;
      attempt?.onComplete(null);
      if (this.body === null) this.destroy();
      return;
    }
    if (this.attempt !== null && !this.completed) {
      try {
        this.parser.finish();
      } catch (error) {
        this.fail(new UpstreamClosedError(error as Error), false);
        return;
      }
      if (this.completed) {
        this.complete(false);
        return;
      }
    }
    this.destroy();
  }

  private onSocketClose(): void {
    if (this.closed) return;
    if (this.attempt !== null && (!this.completed || this.tunnel)) {
      this.fail(new UpstreamClosedError(this.socketError), false);
      return;
    }
    this.destroy();
  }

  private complete(clean: boolean): void {
    const attempt = this.attempt;
    this.attempt = null;
    const trailers = this.trailers;
    this.trailers = null;
    // The whole response has been handed on: a pause asked for on its last chunk has nothing left to hold back.
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    // A response that came before the whole body went out leaves the request unfinished on the wire: not reusable.
    if (clean && this.requestSent && this.parser.keepAlive) this.owner.release(this, this.parser.keepAliveTimeoutMs);
    else this.destroy();
    attempt?.onComplete(trailers);
  }

  private fail(error: Error, protocol: boolean): void {
    const attempt = this.attempt;
    this.attempt = null;
    this.destroy();
    attempt?.onConnectionFailed(error, protocol);
  }

  private abortWith(error: Error): void {
    this.fail(error, false);
  }

  private destroy(): void {
    if (this.closed) return;
    this.closed = true;
    const body = this.body;
    this.detachBody();
    // The client's stream of an unfinished body is let go, as it would be on any failed attempt.
    body?.destroy();
    this.socket.destroy();
    this.owner.forget(this);
  }
}
