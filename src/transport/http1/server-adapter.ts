// Transport/http1: the server side of one request — node:http's request in as a MeshRequest, the stack's answer out through the response.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { WeftError } from '../../core/index.js';
import { asWeftError, errorReply, MeshRequest, type Dispatch, RequestFacts, type BodyState, type Downstream, type FlowControl, type HeaderMap, type RawHeaders, type RequestBody, type ResponseHandler } from '../../http/index.js';
import { AttemptBody, type BodySource } from './attempt-body.js';
import { onClientClose, onClientData, onClientDrain, onClientEnd, tag } from './exchange-events.js';
import { forwardedHead } from './request-target.js';

/** What the server an exchange belongs to tells it and hears from it (the server's Drain). */
export interface ServerEdge {
  /** While true, responses ask the client to close its connection. */
  readonly draining: boolean;
  /** An exchange began. */
  begin(): void;
  /** The exchange is over: its response ended, was broken off, or the client left. Called once per exchange. */
  end(): void;
}

/** Where a stage that threw is reported. */
export interface BugLog {
  error(record: object, message: string): void;
}

/**
 * One request of a node:http server: it is the request's body and downstream for the stages, and the handler at the
 * top of the stack that writes their answer. Errors become a response here and nowhere else (or, once headers went
 * out, a broken-off response). The client's listeners live in exchange-events.ts, so a request allocates no closures.
 */
export class Http1ServerExchange implements ResponseHandler, RequestBody, Downstream, BodySource {
  readonly request: MeshRequest;
  private readonly hasBody: boolean;
  private bodyRead = false;
  private bodyEnded = false;
  private replay: Buffer[] | null;
  private replayBytes = 0;
  /** The stream the current attempt reads the client's body from. */
  private body: AttemptBody | null = null;
  private listening = false;
  private flow: FlowControl | null = null;
  private responseBodyStarted = false;
  private waitingDrain = false;
  /** The stack has answered (onEnd or onError). */
  private answered = false;
  private closed = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    private readonly edge: ServerEdge,
    /** Authority the request is for (the absolute-form target's or Host), as the server judged it. */
    authority: string,
    /** Largest body kept to send it again after a failed attempt; 0 keeps none. */
    private readonly replayLimitBytes: number,
    startedAt: number,
  ) {
    const head = forwardedHead(req);
    this.hasBody = head.hasBody;
    this.replay = head.hasBody && replayLimitBytes > 0 ? [] : null;
    this.request = new MeshRequest(req.method ?? 'GET', authority, head.path, head.headers, head.hasBody ? this : null, this, new RequestFacts(startedAt));
    tag(req, this);
    tag(res, this);
    res.on('close', onClientClose);
    edge.begin();
  }

  // Downstream

  get remoteAddress(): string | undefined {
    return this.req.socket.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.req.socket.remotePort;
  }

  headerMap(): HeaderMap {
    return this.req.headers;
  }

  bytesWritten(): number {
    return this.req.socket.bytesWritten;
  }

  // ResponseHandler: the stack's answer, written to the client.

  onStart(status: number, headers: RawHeaders, flow: FlowControl, reason: string): void {
    if (this.closed) return;
    this.flow = flow;
    const res = this.res;
    if (this.edge.draining) res.shouldKeepAlive = false;
    try {
      res.writeHead(status, reason, headers);
    } catch {
      // The client adapters check what Node's writer refuses; should anything slip through, the client sees a broken
      // response, and its close cancels the attempt so that every stage lets go of it.
      res.destroy();
    }
  }

  onData(chunk: Buffer): boolean {
    if (this.closed) return true;
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

  onEnd(trailers: RawHeaders | null): void {
    if (this.answered) return;
    this.answered = true;
    if (this.closed) return;
    if (trailers !== null && trailers.length > 0) addTrailers(this.res, trailers);
    this.res.end();
  }

  onError(error: WeftError): void {
    if (this.answered) return;
    this.answered = true;
    if (this.closed) return;
    const res = this.res;
    // After the headers, the only honest signal left is to break the connection.
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    this.discard();
    const reply = errorReply(error);
    res.writeHead(reply.status, reply.headers);
    res.end(reply.body);
  }

  // RequestBody

  get complete(): boolean {
    return !this.hasBody || this.bodyEnded;
  }

  state(): BodyState {
    if (!this.hasBody) return 'none';
    if (!this.bodyRead) return 'untouched';
    return this.bodyEnded && this.replay !== null ? 'replayable' : 'spent';
  }

  open(): Readable | Buffer {
    // Only a replayable body reaches a second attempt after being read (the retry stage checks): it goes whole, with the head.
    if (this.bodyRead) return Buffer.concat(this.replay ?? []);
    return (this.body = new AttemptBody(this));
  }

  release(): void {
    this.body = null;
    this.detachBody();
  }

  discard(): void {
    if (this.hasBody && !this.bodyEnded) {
      this.req.removeListener('data', onClientData);
      this.req.removeListener('end', onClientEnd);
      this.listening = false;
      this.req.resume();
    }
  }

  // The client's events (exchange-events.ts) and the attempt body's.

  /** @internal the current attempt's connection wants body bytes. */
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
    this.request.facts.bytesIn += chunk.length;
    const replay = this.replay;
    if (replay !== null) {
      if (this.replayBytes + chunk.length <= this.replayLimitBytes) {
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

  /** @internal */
  onClientDrain(): void {
    this.waitingDrain = false;
    this.flow?.resume();
  }

  /**
   * Runs the stack on this request. A stage that throws is a bug, not the client's doing: the request is answered
   * INTERNAL and the listener keeps serving, instead of the exception taking the process down.
   */
  dispatchTo(stack: Dispatch, log: BugLog): void {
    dispatchGuarded(stack, this.request, this, log);
  }

  /** @internal the response finished, was broken off, or the client left. */
  onClientClose(): void {
    if (this.closed) return;
    this.closed = true;
    // Nobody is left to answer: whatever the request still waits on stops, and the stages let go of what they hold.
    if (!this.answered) this.request.cancel();
    this.edge.end();
  }

  private detachBody(): void {
    if (!this.hasBody || !this.listening) return;
    this.listening = false;
    this.req.removeListener('data', onClientData);
    this.req.removeListener('end', onClientEnd);
    if (!this.bodyEnded) this.req.pause();
  }
}

/**
 * Runs a stack on a request whose top handler is a server exchange. A stage that throws is a bug, not the client's
 * doing: the request is answered INTERNAL and the listener keeps serving, instead of the exception taking the process down.
 */
export function dispatchGuarded(stack: Dispatch, request: MeshRequest, exchange: ResponseHandler, log: BugLog): void {
  try {
    stack(request, exchange);
  } catch (error) {
    log.error({ err: error }, 'a request-path stage threw; the request was answered INTERNAL');
    exchange.onError(asWeftError(error));
  }
}

/** Trailers go out after the last chunk; Node sends them only on a chunked response, and refuses what its writer would. */
function addTrailers(res: ServerResponse, trailers: RawHeaders): void {
  const pairs: [string, string][] = [];
  for (let i = 0; i < trailers.length; i += 2) pairs.push([trailers[i]!, trailers[i + 1]!]);
  try {
    res.addTrailers(pairs);
  } catch {
    // A trailer Node refuses is dropped; the body already went out whole.
  }
}
