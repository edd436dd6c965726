// Transport/http1: one attempt of a request on an endpoint's undici pool — undici's callbacks in, the contract's handler calls out.
import type { Dispatcher } from 'undici';
import {
  CANCELLED,
  ConnectFailedError,
  UpstreamProtocolError,
  UpstreamResetError,
  UpstreamTimeoutError,
  WeftError,
  isWeftError,
  type TimerHandle,
} from '../../core/index.js';
import type { Cancellable, FlowControl, MeshRequest, ResponseHandler } from '../../http/index.js';
import { isHeaderToken, isWritableHeaderValue } from '../../model/index.js';
import type { EndpointPool } from './endpoint-pool.js';
import { forwardResponseHeaders } from './hop-by-hop.js';

/** Header bytes as strings; latin1 keeps every byte as it came, as Node's own parser does. */
function headerStrings(raw: readonly (Buffer | string)[]): string[] {
  const out = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const item = raw[i]!;
    out[i] = typeof item === 'string' ? item : item.toString('latin1');
  }
  return out;
}

/** Whether node:http can write this head on to a client (undici's parser lets through some it refuses). */
function writableHead(status: number, reason: string, headers: readonly string[]): boolean {
  if (status < 100 || status > 999 || !isWritableHeaderValue(reason)) return false;
  for (let i = 0; i < headers.length; i += 2) if (!isHeaderToken(headers[i]!) || !isWritableHeaderValue(headers[i + 1]!)) return false;
  return true;
}

/** The connector's typed refusal of the peer's certificate (mTLS): kept as it is, so it is answered and counted by its own code. */
function isPeerRefusal(err: NodeJS.ErrnoException): err is NodeJS.ErrnoException & WeftError {
  return isWeftError(err) && (err.code === 'PEER_IDENTITY_MISMATCH' || err.code === 'PEER_UNTRUSTED');
}

/** Errors undici raises before anything is sent because it refuses the request itself, not the endpoint. */
function isRefusedRequest(err: NodeJS.ErrnoException): boolean {
  return err.code === 'UND_ERR_INVALID_ARG' || err.code === 'UND_ERR_NOT_SUPPORTED';
}

/** Bytes that are no HTTP response; undici's parser leaves the code unset for some of them. */
function isParseError(err: NodeJS.ErrnoException): boolean {
  return err.name === 'HTTPParserError' || (typeof err.code === 'string' && err.code.startsWith('HPE_'));
}

function onResponseTimeout(attempt: Http1Attempt): void {
  attempt.onTimeout();
}

/**
 * A small object per attempt rather than the request as the handler: callbacks of an attempt that was given up
 * (dropped for a retry, timed out, cancelled) must be told apart from the current one's, and are ignored.
 */
export class Http1Attempt implements Dispatcher.DispatchHandler, FlowControl, Cancellable {
  /** Set once undici writes the request on a connected socket: from then on it may have reached the endpoint. */
  private connected = false;
  private abortRequest: ((err?: Error) => void) | null = null;
  private resumeResponse: (() => void) | null = null;
  private started = false;
  /** The handler has had its last call (end or error), or the attempt was dropped. */
  private done = false;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly req: MeshRequest,
    private readonly handler: ResponseHandler,
    private readonly pool: EndpointPool,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    this.connected = true;
    this.abortRequest = abort;
    // Cancelled while it waited for a connection: it has nobody to answer.
    if (this.done) this.abort();
  }

  /** Called by undici once the whole request (head and body) is written; absent from its typings. */
  onRequestSent(): void {
    // An endpoint may answer before it has read the whole body; then nothing is owed any more.
    if (this.done || this.started) return;
    const ms = this.req.attemptTimeoutMs;
    // From now on the endpoint owes a response within the timeout (as Envoy counts it): a long upload is not cut short.
    if (ms > 0) this.timer = this.pool.clock.setTimer(onResponseTimeout, ms, this);
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, reason: string): boolean {
    if (this.done) return true;
    // An interim response (100 Continue, 103 Early Hints) is not the answer: the final one is still owed, in the same time.
    if (status >= 100 && status < 200 && status !== 101) return true;
    this.clearTimer();
    this.resumeResponse = resume;
    const headers = headerStrings(raw);
    if (!writableHead(status, reason, headers)) {
      this.fail(new UpstreamProtocolError(this.pool.address, new Error(`a response head the client side cannot be given (status ${status})`)));
      this.abort();
      return true;
    }
    this.started = true;
    this.handler.onStart(status, forwardResponseHeaders(headers), this, reason);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.done) return true;
    return this.handler.onData(chunk);
  }

  onComplete(trailers: readonly (Buffer | string)[] | null): void {
    if (this.done) return;
    this.finish();
    this.handler.onEnd(trailers === null || trailers.length === 0 ? null : headerStrings(trailers));
  }

  onError(err: Error): void {
    if (this.done) return;
    const target = this.pool.address;
    const e = err as NodeJS.ErrnoException;
    if (this.started) this.fail(new UpstreamResetError(target, e));
    else if (isRefusedRequest(e)) this.fail(new WeftError('INTERNAL', 'the request could not be forwarded', { cause: e }));
    else if (!this.connected) this.fail(isPeerRefusal(e) ? e : new ConnectFailedError(target, e));
    else if (isParseError(e)) this.fail(new UpstreamProtocolError(target, e));
    else this.fail(new UpstreamResetError(target, e));
  }

  // FlowControl

  resume(): void {
    const resume = this.resumeResponse;
    if (resume !== null && !this.done) resume();
  }

  drop(): void {
    if (this.done) return;
    this.finish();
    this.req.body?.release();
    // A request still waiting for its body would hold its socket forever; a finished one reads the dropped response to its end and keeps the connection.
    if (!(this.req.body === null || this.req.body.complete)) this.abort();
  }

  // Cancellable

  cancel(): void {
    if (this.done) return;
    this.finish();
    this.req.body?.release();
    this.abort();
    this.handler.onError(CANCELLED);
  }

  /** @internal the response timer fired. */
  onTimeout(): void {
    this.timer = null;
    if (this.done || this.started) return;
    const ms = this.req.attemptTimeoutMs;
    this.fail(new UpstreamTimeoutError(this.pool.address, ms));
    this.abort();
  }

  /** Ends the attempt without (the rest of) a response; the body is let go so another attempt starts clean. */
  private fail(error: WeftError): void {
    this.finish();
    this.req.body?.release();
    this.handler.onError(error);
  }

  /** The attempt will make no more calls: no timer, no claim on the request. */
  private finish(): void {
    this.done = true;
    this.clearTimer();
    if (this.req.pending === this) this.req.pending = null;
  }

  /** Stops the request and closes its connection; a no-op before it was written (it then fails or is ignored). */
  private abort(): void {
    const abort = this.abortRequest;
    this.abortRequest = null;
    if (abort !== null) abort();
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      this.pool.clock.clearTimer(this.timer);
      this.timer = null;
    }
  }
}
