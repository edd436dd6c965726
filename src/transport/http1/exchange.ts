// Transport/http1: one proxied request, forwarded attempt by attempt to endpoints, streaming both ways.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AppUnavailableError,
  ConnectFailedError,
  UpstreamProtocolError,
  UpstreamResetError,
  UpstreamTimeoutError,
  WeftError,
  isWeftError,
} from '../../core/index.js';
import { AttemptBody } from './attempt-body.js';
import type { EndpointPool } from './endpoint-pool.js';
import { forwardRequestHeaders, forwardResponseHeaders } from './hop-by-hop.js';
import { onClientClose, onClientData, onClientDrain, onClientEnd, onResponseTimeout, tag } from './exchange-events.js';
import { isAbsoluteForm, originForm, withTargetHost } from './request-target.js';
import { UpstreamAttempt } from './upstream-attempt.js';

/** Mirrors the retry policy's body states (resilience/retry.ts), which this layer reports without importing. */
export type AttemptBodyState = 'none' | 'untouched' | 'replayable' | 'spent';

export interface ForwardOptions {
  /** A fresh connection that is not up within this time is a connect failure (applied by the pools). */
  readonly connectTimeoutMs: number;
  /**
   * No response headers within this time after the request was fully handed to the endpoint is a
   * timeout (as Envoy counts it): a long upload is not cut short; the server's requestTimeout bounds it.
   */
  readonly responseTimeoutMs: number;
  /** Largest request body kept to resend it after a reset; 0 disables replay. */
  readonly replayLimitBytes: number;
  /**
   * Treat a peer sidecar's `503` with `x-weft-error: APP_UNAVAILABLE` as a failed attempt rather than a
   * response: the request never reached an application, so it may go to another instance.
   */
  readonly peerAppUnavailableFails: boolean;
}

/** Whether a 503 came from a peer sidecar whose application is down. */
function isPeerAppUnavailable(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 12 && name.toLowerCase() === 'x-weft-error') return raw[i + 1] === 'APP_UNAVAILABLE';
  }
  return false;
}

/** Header bytes as strings; latin1 keeps every byte as it came, as Node's own parser does. */
function headerStrings(raw: readonly Buffer[]): string[] {
  const out = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw[i]!.toString('latin1');
  return out;
}

/** Errors undici raises before anything is sent because it refuses the request itself, not the endpoint. */
/** The connector's typed refusal of the peer's certificate (mTLS): kept as it is, so it is answered and counted by its own code. */
function isPeerRefusal(err: NodeJS.ErrnoException): err is NodeJS.ErrnoException & WeftError {
  return isWeftError(err) && (err.code === 'PEER_IDENTITY_MISMATCH' || err.code === 'PEER_UNTRUSTED');
}

function isRefusedRequest(err: NodeJS.ErrnoException): boolean {
  return err.code === 'UND_ERR_INVALID_ARG' || err.code === 'UND_ERR_NOT_SUPPORTED';
}

/** Bytes that are no HTTP response; undici's parser leaves the code unset for some of them. */
function isParseError(err: NodeJS.ErrnoException): boolean {
  return err.name === 'HTTPParserError' || (typeof err.code === 'string' && err.code.startsWith('HPE_'));
}

/**
 * The per-request state machine. Subclasses decide what a failed attempt means (retry on another
 * endpoint, or an error response) in `attemptFailed`, and account for the end in `closed`.
 * The client side's listeners live in exchange-events.ts; each attempt is an undici handler (upstream-attempt.ts).
 */
export abstract class Http1Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  /** The request target as the endpoint gets it (origin-form). */
  readonly path: string;
  readonly headers: string[];
  /** Attempts started so far. */
  attempt = 0;
  /** Status sent to the client, once headers went out (0 before). */
  status = 0;
  /** Set when the response was cut short after its headers (the client sees a broken response). */
  abortError: WeftError | null = null;
  /** The client went away before the response ended. */
  clientGone = false;
  /** The pool of the current (or last) attempt. */
  pool: EndpointPool | null = null;
  /** The response timeout of the current attempt (a per-try timeout may shorten it). */
  attemptTimeoutMs: number;

  private readonly hasBody: boolean;
  private bodyRead = false;
  private bodyEnded = false;
  private replay: Buffer[] | null;
  private replayBytes = 0;
  /** The attempt in progress; null once it failed, completed, or the exchange ended. */
  private current: UpstreamAttempt | null = null;
  /** The stream the current attempt reads the client's body from. */
  private body: AttemptBody | null = null;
  private listening = false;
  private responseBodyStarted = false;
  private waitingDrain = false;
  private timer: NodeJS.Timeout | null = null;
  private done = false;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    readonly forwardOptions: ForwardOptions,
    replayable: boolean,
  ) {
    this.req = req;
    this.res = res;
    this.method = req.method ?? 'GET';
    const target = req.url ?? '/';
    this.path = originForm(target);
    const head = forwardRequestHeaders(req.rawHeaders);
    this.headers = isAbsoluteForm(target) ? withTargetHost(head.headers, target) : head.headers;
    this.hasBody = head.hasBody;
    this.attemptTimeoutMs = forwardOptions.responseTimeoutMs;
    this.replay = replayable && head.hasBody && forwardOptions.replayLimitBytes > 0 ? [] : null;
    tag(req, this);
    tag(res, this);
    res.on('close', onClientClose);
  }

  /** The attempt could not produce a response; the client has seen nothing yet. */
  protected abstract attemptFailed(error: WeftError): void;
  /** Response headers were sent on to the client. */
  protected abstract responded(): void;
  /** The exchange is over: the response ended, was aborted, or the client left. Called once. */
  protected abstract closed(): void;

  /**
   * Whether a response with this status is a failed attempt to be tried again elsewhere, decided before its
   * headers reach the client. Asked only while the body can still be sent again. Never, unless a subclass says so.
   */
  protected retriesStatus(_status: number): boolean {
    return false;
  }

  /** The attempt answered a status that retriesStatus() claimed; the exchange dropped it and waits for the next send(). */
  protected statusRetried(_status: number): void {}

  /** The headers of the next attempt; a subclass may add per-attempt ones (deadline, retry count). */
  protected attemptHeaders(): string[] {
    return this.headers;
  }

  get finished(): boolean {
    return this.done;
  }

  /** How much of the body can still be sent, for the retry decision. */
  bodyState(): AttemptBodyState {
    if (!this.hasBody) return 'none';
    if (!this.bodyRead) return 'untouched';
    return this.bodyEnded && this.replay !== null ? 'replayable' : 'spent';
  }

  /** Starts one attempt against an endpoint's pool; `timeoutMs` bounds its wait for response headers. */
  send(pool: EndpointPool, timeoutMs: number = this.forwardOptions.responseTimeoutMs): void {
    this.attempt++;
    this.attemptTimeoutMs = timeoutMs;
    this.pool = pool;
    const attempt = new UpstreamAttempt(this, pool);
    this.current = attempt;
    let body: AttemptBody | Buffer | null = null;
    if (this.hasBody) {
      // Only a replayable body reaches a second send after being read (the retry policy checks): it goes whole, with the head.
      if (this.bodyRead) body = Buffer.concat(this.replay ?? []);
      else body = this.body = new AttemptBody(this);
    }
    // Errors, even those undici raises at once, arrive through the attempt's onError.
    pool.dispatcher.dispatch({ path: this.path, method: this.method, headers: this.attemptHeaders(), body }, attempt);
  }

  /** Lets the rest of an unread request body drain, so the client connection stays usable after an error reply. */
  discardBody(): void {
    if (this.hasBody && !this.bodyEnded) {
      this.req.removeListener('data', onClientData);
      this.req.removeListener('end', onClientEnd);
      this.listening = false;
      this.req.resume();
    }
  }

  /** @internal the request is being written on a connected socket. */
  onAttemptConnected(attempt: UpstreamAttempt): void {
    // The client left while the attempt waited for a connection: it has nobody to answer.
    if (attempt !== this.current) attempt.abort();
  }

  /** @internal undici wants body bytes for the current attempt. */
  onBodyPull(body: AttemptBody): void {
    if (body !== this.body || this.bodyEnded) return;
    if (!this.listening) {
      this.listening = true;
      this.req.on('data', onClientData);
      this.req.on('end', onClientEnd);
    }
    this.req.resume();
  }

  /** @internal */
  onBodyDestroyed(body: AttemptBody): void {
    if (body !== this.body) return;
    this.body = null;
    this.detachBody();
  }

  /** @internal */
  onClientData(chunk: Buffer): void {
    this.bodyRead = true;
    const replay = this.replay;
    if (replay !== null) {
      if (this.replayBytes + chunk.length <= this.forwardOptions.replayLimitBytes) {
        replay.push(chunk);
        this.replayBytes += chunk.length;
      } else {
        this.replay = null;
      }
    }
    const body = this.body;
    if (body !== null && !body.push(chunk)) this.req.pause();
  }

  /** @internal */
  onClientEnd(): void {
    this.bodyEnded = true;
    this.bodyRead = true;
    this.body?.push(null);
  }

  /** @internal the whole request is on its way: from now on the endpoint owes a response within the timeout. */
  onAttemptSent(attempt: UpstreamAttempt): void {
    // An endpoint may answer before it has read the whole body; then nothing is owed any more.
    if (attempt !== this.current || this.status !== 0 || this.done) return;
    this.clearTimer();
    this.timer = setTimeout(onResponseTimeout, this.attemptTimeoutMs, this, attempt);
  }

  /** @internal */
  onAttemptHeaders(attempt: UpstreamAttempt, status: number, raw: Buffer[], statusText: string): boolean {
    if (attempt !== this.current || this.done) return true;
    this.clearTimer();
    const headers = headerStrings(raw);
    if (status === 503 && this.forwardOptions.peerAppUnavailableFails && this.bodyState() !== 'spent' && isPeerAppUnavailable(headers)) {
      const sentWhole = !this.hasBody || this.bodyEnded;
      this.failAttempt(new AppUnavailableError(attempt.pool.address));
      // A request still waiting for its body would hold its socket forever; a finished one drains back to the pool.
      if (!sentWhole) attempt.abort();
      return true;
    }
    if (status >= 300 && this.bodyState() !== 'spent' && this.retriesStatus(status)) {
      const sentWhole = !this.hasBody || this.bodyEnded;
      // The dropped response's body is read to its end and discarded (its callbacks no longer match), keeping the connection.
      this.current = null;
      this.body = null;
      this.detachBody();
      if (!sentWhole) attempt.abort();
      this.statusRetried(status);
      return true;
    }
    const res = this.res;
    this.responded();
    try {
      // Node throws on what the parser lets through but its writer refuses.
      res.writeHead(status, statusText, forwardResponseHeaders(headers));
    } catch (err) {
      this.failAttempt(new UpstreamProtocolError(attempt.pool.address, err));
      attempt.abort();
      return true;
    }
    this.status = status;
    return true;
  }

  /** @internal a response body chunk, passed on with backpressure: false pauses the upstream socket. */
  onAttemptData(attempt: UpstreamAttempt, chunk: Buffer): boolean {
    if (attempt !== this.current || this.done) return true;
    const res = this.res;
    let ok: boolean;
    if (this.responseBodyStarted) {
      ok = res.write(chunk);
    } else {
      // The first chunk goes out corked with the pending head: one write per small response instead of two.
      this.responseBodyStarted = true;
      res.cork();
      ok = res.write(chunk);
      res.uncork();
    }
    if (!ok && !this.waitingDrain) {
      this.waitingDrain = true;
      res.once('drain', onClientDrain);
    }
    return ok;
  }

  /** @internal */
  onClientDrain(): void {
    this.waitingDrain = false;
    const resume = this.current?.resumeResponse;
    if (resume != null) resume();
  }

  /** @internal */
  onAttemptComplete(attempt: UpstreamAttempt): void {
    if (attempt !== this.current || this.done) return;
    this.current = null;
    this.res.end();
  }

  /** @internal an error of an attempt: before it was written, while waiting for headers, or in the response body. */
  onAttemptError(attempt: UpstreamAttempt, err: NodeJS.ErrnoException): void {
    if (attempt !== this.current || this.done) return;
    this.current = null;
    const target = attempt.pool.address;
    if (this.status !== 0) this.abort(new UpstreamResetError(target, err));
    else if (isRefusedRequest(err)) this.failAttempt(new WeftError('INTERNAL', 'the request could not be forwarded', { cause: err }));
    else if (!attempt.connected) this.failAttempt(isPeerRefusal(err) ? err : new ConnectFailedError(target, err));
    else if (isParseError(err)) this.failAttempt(new UpstreamProtocolError(target, err));
    else this.failAttempt(new UpstreamResetError(target, err));
  }

  /** @internal */
  onTimeout(attempt: UpstreamAttempt): void {
    if (attempt !== this.current || this.done || this.status !== 0) return;
    this.timer = null;
    this.failAttempt(new UpstreamTimeoutError(attempt.pool.address, this.attemptTimeoutMs));
    attempt.abort();
  }

  /** @internal */
  onClientClose(): void {
    if (this.done) return;
    this.done = true;
    this.clearTimer();
    if (!this.res.writableFinished && this.abortError === null) this.clientGone = true;
    const attempt = this.current;
    this.current = null;
    // A request still going to the endpoint has nobody left to answer: stop it.
    if (attempt !== null && (this.clientGone || this.abortError !== null)) attempt.abort();
    this.closed();
  }

  /** Ends the attempt without a response; detaches the body so a retry starts clean. */
  private failAttempt(error: WeftError): void {
    this.clearTimer();
    this.current = null;
    this.body = null;
    this.detachBody();
    this.attemptFailed(error);
  }

  private detachBody(): void {
    if (!this.hasBody || !this.listening) return;
    this.listening = false;
    this.req.removeListener('data', onClientData);
    this.req.removeListener('end', onClientEnd);
    if (!this.bodyEnded) this.req.pause();
  }

  /** After headers went out nothing can be retried: break the client response so it sees the failure. */
  private abort(error: WeftError): void {
    this.abortError = error;
    this.res.destroy();
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
