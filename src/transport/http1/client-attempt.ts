// Transport/http1: one attempt of a request on an endpoint's connection — the connection's events in, the contract's handler calls out.
import {
  CANCELLED,
  ConnectFailedError,
  UpstreamProtocolError,
  UpstreamResetError,
  WeftError,
  UpstreamTimeoutError,
  type TimerHandle,
} from '../../core/index.js';
import type { Cancellable, FlowControl, MeshRequest, ResponseHandler } from '../../http/index.js';
import type { Http1ClientConnection } from './client-connection.js';
import type { EndpointPool } from './endpoint-pool.js';
import { isPeerRefusal } from '../pool-support.js';
import { forwardResponseHeaders } from './hop-by-hop.js';

function onResponseTimeout(attempt: Http1Attempt): void {
  attempt.onTimeout();
}

/**
 * A small object per attempt rather than the request as the handler: calls about an attempt that was given up
 * (dropped for a retry, timed out, cancelled) must be told apart from the current one's, and are ignored.
 */
export class Http1Attempt implements FlowControl, Cancellable {
  /** The connection writing the request; from then on it may have reached the endpoint. */
  private connection: Http1ClientConnection | null = null;
  private started = false;
  /** The handler has had its last call (end or error), or the attempt was dropped. */
  private done = false;
  private timer: TimerHandle | null = null;

  constructor(
    readonly request: MeshRequest,
    private readonly handler: ResponseHandler,
    private readonly pool: EndpointPool,
  ) {}

  /** Finished, dropped or cancelled: a connection that comes up for it goes back to the pool unused. */
  get isDone(): boolean {
    return this.done;
  }

  // What the pool and the connection tell it.

  /** No connection could be had: the request never left. */
  onConnectFailed(error: Error): void {
    if (this.done) return;
    this.fail(isPeerRefusal(error) ? error : new ConnectFailedError(this.pool.address, error));
  }

  /** The request could not be written as it stands (nothing was sent). */
  onUnwritable(error: Error): void {
    if (this.done) return;
    this.fail(new WeftError('INTERNAL', 'the request could not be forwarded', { cause: error }));
  }

  onWriting(connection: Http1ClientConnection): void {
    this.connection = connection;
  }

  /** The whole request (head and body) is written. */
  onRequestSent(): void {
    // An endpoint may answer before it has read the whole body; then nothing is owed any more.
    if (this.done || this.started) return;
    const ms = this.request.attemptTimeoutMs;
    // From now on the endpoint owes a response within the timeout (as Envoy counts it): a long upload is not cut short.
    if (ms > 0) this.timer = this.pool.clock.setTimer(onResponseTimeout, ms, this);
  }

  onHead(status: number, reason: string, headers: string[]): void {
    if (this.done) return;
    // An interim response (100 Continue, 103 Early Hints) is not the answer: the final one is still owed, in the same time.
    // 101 is final: for an Upgrade request it opens the tunnel, for any other it is refused below.
    if (status < 200 && status !== 101) return;
    this.clearTimer();
    if (status === 101 && this.request.upgrade === null) {
      this.fail(new UpstreamProtocolError(this.pool.address, new Error('the upstream switched protocols, which this request did not ask for')));
      this.abort();
      return;
    }
    // The parser lets through only heads Node's writer takes (status 100–999, tokens, values without controls).
    this.started = true;
    try {
      this.handler.onStart(status, forwardResponseHeaders(headers), this, reason);
    } catch (error) {
      this.handlerThrew(error);
    }
  }

  /** A body chunk; false pauses the connection until `resume()`. */
  onData(chunk: Buffer): boolean {
    if (this.done) return true;
    try {
      return this.handler.onData(chunk);
    } catch (error) {
      this.handlerThrew(error);
      return true;
    }
  }

  onComplete(trailers: string[] | null): void {
    if (this.done) return;
    this.finish();
    try {
      this.handler.onEnd(trailers === null || trailers.length === 0 ? null : trailers);
    } catch (error) {
      this.pool.onHandlerError(error);
    }
  }

  /** The connection broke: bytes that are no HTTP response (`protocol`), or a close or reset. */
  onConnectionFailed(error: Error, protocol: boolean): void {
    if (this.done) return;
    const target = this.pool.address;
    this.connection = null;
    if (protocol && !this.started) this.fail(new UpstreamProtocolError(target, error));
    else this.fail(new UpstreamResetError(target, error as NodeJS.ErrnoException));
  }

  // FlowControl

  resume(): void {
    if (!this.done) this.connection?.resumeReading();
  }

  drop(): void {
    if (this.done) return;
    this.finish();
    const body = this.request.body;
    body?.release();
    // A request still waiting for its body would hold its socket forever; a finished one reads the dropped response to its end and keeps the connection.
    if (body === null || body.complete) this.connection?.discardResponse();
    else this.abort();
  }

  // Cancellable

  cancel(): void {
    if (this.done) return;
    this.finish();
    this.request.body?.release();
    this.abort();
    this.handler.onError(CANCELLED);
  }

  /** @internal the response timer fired. */
  onTimeout(): void {
    this.timer = null;
    if (this.done || this.started) return;
    this.fail(new UpstreamTimeoutError(this.pool.address, this.request.attemptTimeoutMs));
    this.abort();
  }

  /** Ends the attempt without (the rest of) a response; the body is let go so another attempt starts clean. */
  private fail(error: WeftError): void {
    this.finish();
    this.request.body?.release();
    try {
      this.handler.onError(error);
    } catch (thrown) {
      this.pool.onHandlerError(thrown);
    }
  }

  /**
   * A handler above threw while given the response: a bug, which must not take the process down from a socket's event.
   * Its state is unknown, so it is told nothing more; the connection closes, which the client side sees as a break.
   */
  private handlerThrew(error: unknown): void {
    this.finish();
    this.request.body?.release();
    this.abort();
    this.pool.onHandlerError(error);
  }

  /** The attempt will make no more calls: no timer, no claim on the request. */
  private finish(): void {
    this.done = true;
    this.clearTimer();
    if (this.request.pending === this) this.request.pending = null;
  }

  /** Closes its connection; before one was assigned there is nothing to stop (a connection that comes up goes back idle). */
  private abort(): void {
    const connection = this.connection;
    this.connection = null;
    connection?.abort();
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      this.pool.clock.clearTimer(this.timer);
      this.timer = null;
    }
  }
}
