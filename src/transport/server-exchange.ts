// Transport: what every server adapter shares, whatever the protocol — the request for the stages, its body read from the client on demand and kept for a retry, and the client's leaving.
import type { Readable } from 'node:stream';
import type { WeftError } from '../core/index.js';
import { asWeftError, MeshRequest, RequestFacts, type BodyState, type Dispatch, type Downstream, type FlowControl, type HeaderMap, type RawHeaders, type RequestBody, type ResponseHandler } from '../http/index.js';
import { AttemptBody, type BodySource } from './attempt-body.js';
import { onClientData, onClientEnd, tag } from './exchange-events.js';

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

/** The request as the protocol's server parsed it. */
export interface ServerRequestHead {
  readonly method: string;
  /** Authority the request is for (the absolute-form target's, Host, or :authority), as the server judged it. */
  readonly authority: string;
  /** Origin-form path and query. */
  readonly path: string;
  /** What the next hop gets: without hop-by-hop (or pseudo-) headers. */
  readonly headers: RawHeaders;
  readonly hasBody: boolean;
}

/**
 * One request of a server: the request's body and downstream for the stages, and the handler at the top of the stack
 * that writes their answer (the protocol's subclass). Errors become a response there and nowhere else. The body is
 * read from `source` only once an attempt pulls it; its first bytes are kept up to a bound so that a failed attempt
 * can be made again with the same body. The client's listeners are module functions (exchange-events.ts), so a
 * request allocates no closures.
 */
export abstract class ServerExchange implements ResponseHandler, RequestBody, Downstream, BodySource {
  readonly request: MeshRequest;
  private readonly hasBody: boolean;
  private bodyRead = false;
  private bodyEnded = false;
  private replay: Buffer[] | null;
  private replayBytes = 0;
  /** The stream the current attempt reads the client's body from. */
  private body: AttemptBody | null = null;
  private listening = false;
  protected flow: FlowControl | null = null;
  /** The stack has answered (onEnd or onError). */
  protected answered = false;
  /** The client's side is over: the response ended, was broken off, or the client left. */
  protected closed = false;

  constructor(
    /** The client's request body as a stream. */
    private readonly source: Readable,
    protected readonly edge: ServerEdge,
    head: ServerRequestHead,
    /** Largest body kept to send it again after a failed attempt; 0 keeps none. */
    private readonly replayLimitBytes: number,
    startedAt: number,
  ) {
    this.hasBody = head.hasBody;
    this.replay = head.hasBody && replayLimitBytes > 0 ? [] : null;
    this.request = new MeshRequest(head.method, head.authority, head.path, head.headers, head.hasBody ? this : null, this, new RequestFacts(startedAt));
    tag(source, this);
    edge.begin();
  }

  // Downstream: the protocol's.
  abstract get remoteAddress(): string | undefined;
  abstract get remotePort(): number | undefined;
  abstract headerMap(): HeaderMap;
  abstract bytesWritten(): number;

  // ResponseHandler: written to the client in the protocol's way.
  abstract onStart(status: number, headers: RawHeaders, flow: FlowControl, reason: string): void;
  abstract onData(chunk: Buffer): boolean;
  abstract onEnd(trailers: RawHeaders | null): void;
  abstract onError(error: WeftError): void;

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
      this.source.removeListener('data', onClientData);
      this.source.removeListener('end', onClientEnd);
      this.listening = false;
      this.source.resume();
    }
  }

  // The client's events (exchange-events.ts) and the attempt body's.

  /** @internal the current attempt's connection wants body bytes. */
  onBodyPull(body: AttemptBody): void {
    if (body !== this.body || this.bodyEnded) return;
    if (!this.listening) {
      this.listening = true;
      this.source.on('data', onClientData);
      this.source.on('end', onClientEnd);
    }
    this.source.resume();
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
    if (body !== null && !body.push(chunk)) this.source.pause();
  }

  /** @internal */
  onClientEnd(): void {
    this.bodyEnded = true;
    this.bodyRead = true;
    this.body?.push(null);
  }

  /** @internal the client drained after a write that returned false. */
  onClientDrain(): void {
    this.flow?.resume();
  }

  /** Runs the stack on this request (see dispatchGuarded). */
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
    this.source.removeListener('data', onClientData);
    this.source.removeListener('end', onClientEnd);
    if (!this.bodyEnded) this.source.pause();
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
