// Transport/http1: one proxied request, forwarded attempt by attempt to endpoints, streaming both ways.
import { request, type ClientRequest, type IncomingMessage, type OutgoingMessage, type ServerResponse } from 'node:http';
import {
  AppUnavailableError,
  ConnectFailedError,
  UpstreamProtocolError,
  UpstreamResetError,
  UpstreamTimeoutError,
  WeftError,
} from '../../core/index.js';
import type { EndpointPool } from './endpoint-pool.js';
import { forwardRequestHeaders, forwardResponseHeaders } from './hop-by-hop.js';
import {
  onClientClose,
  onClientData,
  onClientDrain,
  onClientEnd,
  onResponseTimeout,
  onUpstreamData,
  onUpstreamDrain,
  onUpstreamEnd,
  onUpstreamError,
  onUpstreamResponse,
  onUpstreamResponseError,
  onUpstreamSocket,
  tag,
} from './exchange-events.js';
import { originForm } from './request-target.js';

/** Mirrors the retry policy's body states (resilience/retry.ts), which this layer reports without importing. */
export type AttemptBodyState = 'none' | 'untouched' | 'replayable' | 'spent';

export interface ForwardOptions {
  /** A fresh connection that is not up within this time is a connect failure. */
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

/**
 * Writes a body chunk. The first one goes out corked, so the pending head and the chunk leave in one
 * write instead of two (Node sends a string head and a Buffer body separately).
 */
function write(out: OutgoingMessage, chunk: Buffer, first: boolean): boolean {
  if (!first) return out.write(chunk);
  out.cork();
  const ok = out.write(chunk);
  out.uncork();
  return ok;
}

/**
 * The per-request state machine. Subclasses decide what a failed attempt means (retry on another
 * endpoint, or an error response) in `attemptFailed`, and account for the end in `closed`.
 * Its listeners live in exchange-events.ts.
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

  private readonly hasBody: boolean;
  private bodyRead = false;
  private bodyEnded = false;
  private replay: Buffer[] | null;
  private replayBytes = 0;
  private up: ClientRequest | null = null;
  private upRes: IncomingMessage | null = null;
  private requestBodyStarted = false;
  private responseBodyStarted = false;
  private waitingDrain = false;
  private connected = false;
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
    this.path = originForm(req.url ?? '/');
    const head = forwardRequestHeaders(req.rawHeaders);
    this.headers = head.headers;
    this.hasBody = head.hasBody;
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

  get finished(): boolean {
    return this.done;
  }

  /** How much of the body can still be sent, for the retry decision. */
  bodyState(): AttemptBodyState {
    if (!this.hasBody) return 'none';
    if (!this.bodyRead) return 'untouched';
    return this.bodyEnded && this.replay !== null ? 'replayable' : 'spent';
  }

  /** Starts one attempt against an endpoint's pool. */
  send(pool: EndpointPool): void {
    this.attempt++;
    this.pool = pool;
    this.connected = false;
    this.requestBodyStarted = false;
    let up: ClientRequest;
    try {
      up = request({ agent: pool.agent, host: pool.host, port: pool.port, method: this.method, path: this.path, headers: this.headers });
    } catch (err) {
      // Node validates what its own parser let in; a request it refuses to send is not the endpoint's fault.
      this.attemptFailed(new WeftError('INTERNAL', 'the request could not be forwarded', { cause: err }));
      return;
    }
    tag(up, this);
    this.up = up;
    up.on('socket', onUpstreamSocket);
    up.on('response', onUpstreamResponse);
    up.on('error', onUpstreamError);
    // Without a body nothing waits for the connection: the request is queued on the socket.
    if (!this.hasBody) this.endRequest(up);
  }

  /** Lets the rest of an unread request body drain, so the client connection stays usable after an error reply. */
  discardBody(): void {
    if (this.hasBody && !this.bodyEnded) {
      this.req.removeListener('data', onClientData);
      this.req.removeListener('end', onClientEnd);
      this.req.resume();
    }
  }

  /** @internal the socket of the current attempt is connected: start (or replay) the body. */
  onConnected(up: ClientRequest): void {
    if (up !== this.up) return;
    this.connected = true;
    if (!this.hasBody) return;
    if (this.bodyRead) {
      // Only a replayable body reaches a second send after being read (the retry policy checks).
      up.cork();
      for (const chunk of this.replay ?? []) up.write(chunk);
      this.endRequest(up);
      up.uncork();
      return;
    }
    up.on('drain', onUpstreamDrain);
    this.req.on('data', onClientData);
    this.req.on('end', onClientEnd);
    this.req.resume();
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
    const up = this.up;
    if (up === null) return;
    const first = !this.requestBodyStarted;
    this.requestBodyStarted = true;
    if (!write(up, chunk, first)) this.req.pause();
  }

  /** @internal */
  onClientEnd(): void {
    this.bodyEnded = true;
    this.bodyRead = true;
    if (this.up !== null) this.endRequest(this.up);
  }

  /** @internal */
  onResponse(up: ClientRequest, upRes: IncomingMessage): void {
    if (up !== this.up || this.done) {
      upRes.resume();
      return;
    }
    this.clearTimer();
    const status = upRes.statusCode ?? 502;
    if (status === 503 && this.forwardOptions.peerAppUnavailableFails && this.bodyState() !== 'spent' && isPeerAppUnavailable(upRes.rawHeaders)) {
      const sentWhole = !this.hasBody || this.bodyEnded;
      this.failAttempt(new AppUnavailableError(this.pool?.address ?? ''));
      // A request still waiting for its body would hold its socket forever; a finished one goes back to the pool.
      if (sentWhole) upRes.resume();
      else up.destroy();
      return;
    }
    const res = this.res;
    this.responded();
    try {
      // Node throws on what its parser lets through but its writer refuses (a status of 000, say).
      res.writeHead(status, upRes.statusMessage, forwardResponseHeaders(upRes.rawHeaders));
    } catch (err) {
      this.failAttempt(new UpstreamProtocolError(this.pool?.address ?? '', err));
      up.destroy();
      return;
    }
    this.status = status;
    tag(upRes, this);
    this.upRes = upRes;
    // Hand-rolled rather than pipe(): three listeners from module functions instead of a set of closures per response.
    upRes.on('data', onUpstreamData);
    upRes.on('end', onUpstreamEnd);
    upRes.on('error', onUpstreamResponseError);
  }

  /** @internal a response body chunk, passed on with backpressure. */
  onUpstreamData(upRes: IncomingMessage, chunk: Buffer): void {
    const first = !this.responseBodyStarted;
    this.responseBodyStarted = true;
    if (write(this.res, chunk, first)) return;
    upRes.pause();
    if (!this.waitingDrain) {
      this.waitingDrain = true;
      this.res.once('drain', onClientDrain);
    }
  }

  /** @internal */
  onClientDrain(): void {
    this.waitingDrain = false;
    this.upRes?.resume();
  }

  /** @internal an error on the current attempt's request. */
  onUpstreamError(up: ClientRequest, err: NodeJS.ErrnoException): void {
    if (up !== this.up || this.done) return;
    const target = this.pool?.address ?? '';
    if (this.status !== 0) {
      this.abort(new UpstreamResetError(target, err));
      return;
    }
    if (!this.connected) this.failAttempt(new ConnectFailedError(target, err));
    else if (typeof err.code === 'string' && err.code.startsWith('HPE_')) this.failAttempt(new UpstreamProtocolError(target, err));
    else this.failAttempt(new UpstreamResetError(target, err));
  }

  /** @internal the response body broke after its headers were sent on. */
  onUpstreamResponseError(err: Error): void {
    if (this.done) return;
    this.abort(new UpstreamResetError(this.pool?.address ?? '', err));
  }

  /** @internal */
  onTimeout(up: ClientRequest): void {
    if (up !== this.up || this.done || this.status !== 0) return;
    this.timer = null;
    this.failAttempt(new UpstreamTimeoutError(this.pool?.address ?? '', this.forwardOptions.responseTimeoutMs));
    up.destroy();
  }

  /** @internal a fresh connection that never came up. */
  onConnectTimeout(up: ClientRequest): void {
    if (up !== this.up || this.connected || this.done) return;
    this.failAttempt(new ConnectFailedError(this.pool?.address ?? '', new Error(`connect timeout after ${this.forwardOptions.connectTimeoutMs} ms`)));
    up.destroy();
  }

  /** @internal */
  onClientClose(): void {
    if (this.done) return;
    this.done = true;
    this.clearTimer();
    if (!this.res.writableFinished && this.abortError === null) this.clientGone = true;
    const up = this.up;
    this.up = null;
    // A request still going to the endpoint has nobody left to answer: stop it.
    if (up !== null && (this.clientGone || this.abortError !== null)) up.destroy();
    this.closed();
  }

  /** The whole request is on its way: from now on the endpoint owes a response within the timeout. */
  private endRequest(up: ClientRequest): void {
    up.end();
    // An endpoint may answer before it has read the whole body; then nothing is owed any more.
    if (this.status !== 0) return;
    this.clearTimer();
    this.timer = setTimeout(onResponseTimeout, this.forwardOptions.responseTimeoutMs, this, up);
  }

  /** Ends the attempt without a response; detaches the body so a retry starts clean. */
  private failAttempt(error: WeftError): void {
    this.clearTimer();
    this.up = null;
    if (this.hasBody) {
      this.req.removeListener('data', onClientData);
      this.req.removeListener('end', onClientEnd);
      if (!this.bodyEnded) this.req.pause();
    }
    this.attemptFailed(error);
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
