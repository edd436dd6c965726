// HTTP: the request every stage sees and the streaming handler it answers through, whatever carried it (HTTP/1.1, HTTP/2, an in-process call).
import type { Readable } from 'node:stream';
import type { CallContext, WeftError } from '../core/index.js';
import type { Endpoint } from '../model/index.js';

/** Headers as they travel: `[name, value, name, value, …]`, names in the case they came in, repeats kept. */
export type RawHeaders = string[];

/** Headers by lower-case name, as node:http and node:http2 parse them; for lookups (routes, affinity, tokens, trace context). */
export interface HeaderMap {
  readonly [name: string]: string | string[] | undefined;
}

/** How much of a request body can still be sent to another endpoint: the retry decision reads it. */
export type BodyState = 'none' | 'untouched' | 'replayable' | 'spent';

/**
 * A request body as the front door holds it. It is read from the client only once an attempt pulls it, and the first
 * bytes are kept up to a bound, so an attempt that fails early can be made again elsewhere with the same body.
 */
export interface RequestBody {
  state(): BodyState;
  /** Every byte has been read from the client: an attempt holding it has been sent whole. */
  readonly complete: boolean;
  /** What the next attempt sends: a stream that pulls from the client, or (after a first attempt read it) the whole kept body. */
  open(): Readable | Buffer;
  /** The attempt that opened the body is given up: stop reading the client on its behalf. */
  release(): void;
  /** Nobody sends the rest: read it to its end and drop it, so the client's connection stays usable. */
  discard(): void;
}

/** What telemetry and affinity need of the client side, whatever the protocol. */
export interface Downstream {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** The request's headers by lower-case name, parsed on first use. */
  headerMap(): HeaderMap;
  /** Bytes written to the client's connection so far (status line and headers included), for byte metrics. */
  bytesWritten(): number;
}

/** Who sent the request, as the edge judged it: proven by mTLS, or merely claimed (then `authenticated` is false). */
export interface CallerIdentity {
  readonly service?: string;
  /** spiffe://<trust-domain>/service/<name>; present only for authenticated callers. */
  readonly spiffeId?: string;
  readonly authenticated: boolean;
}

/** A caller nobody vouches for and that names no service. */
export const UNKNOWN_CALLER: CallerIdentity = Object.freeze({ authenticated: false });

/** Handed up with a response's start: how its consumer steers the producer. */
export interface FlowControl {
  /** The consumer drained after an onData returned false: deliver more. */
  resume(): void;
  /** The response is not wanted (a stage retries instead): its producer drops it and keeps the connection when it can. */
  drop(): void;
}

/**
 * The answer to a request, delivered in order: `onStart`, then `onData` any number of times, then `onEnd` — or
 * `onError` at any point instead of whatever has not come yet. Exactly one of onEnd and onError arrives.
 */
export interface ResponseHandler {
  /** Status and headers (hop-by-hop ones already removed); `reason` is HTTP/1.1's phrase, '' where the protocol has none. */
  onStart(status: number, headers: RawHeaders, flow: FlowControl, reason: string): void;
  /** A body chunk; false asks the producer to pause until `flow.resume()`. */
  onData(chunk: Buffer): boolean;
  /** The response is complete; trailers (gRPC's status travels there) or null. */
  onEnd(trailers: RawHeaders | null): void;
  /** The request failed; before `onStart` the edge answers with the error, after it the response is broken off. */
  onError(error: WeftError): void;
}

/** Work a request waits on (an attempt in flight, a timer, a token check): what stops it when the client leaves. */
export interface Cancellable {
  /** Stops the work and reports CANCELLED through the handler it was given, synchronously. */
  cancel(): void;
}

/** What the stages learn along the way and telemetry reads once, at the edge, when the request ends. */
export class RequestFacts {
  /** Attempts made (0 when the request was refused before any). */
  attempts = 0;
  /** The endpoint of the last attempt; null before one. */
  endpoint: Endpoint | null = null;
  /** host:port of the last attempt's target where no Endpoint stands for it (the local app). */
  upstreamAddress = '';
  /** Request body bytes read from the client. */
  bytesIn = 0;
  /** A route's fault delayed the request (Istio's DI flag). */
  faultDelayed = false;
  /** Told of each retry when the request is traced; null otherwise. */
  retries: RetryListener | null = null;
  /** The calling service as the edge judged it ('' unknown): the `source` of logs and spans. */
  source = '';
  /** The service called ('' unknown): the `destination` of logs. */
  destination = '';

  constructor(
    /** Clock.now() when the request arrived. */
    readonly startedAt: number,
  ) {}
}

export interface RetryListener {
  retried(reason: string, attempt: number, upstreamInstance: string, upstreamAddress: string): void;
}

/**
 * One request on its way through the stacks. Stages write the attempt fields before each attempt (they are the
 * balancer's CallContext too); `headers` is what the next hop gets, and the stage that makes attempts sets it per attempt.
 */
export class MeshRequest implements CallContext {
  /** 1 for the first attempt, 2 for the first retry, … */
  attempt = 0;
  exclude: ReadonlySet<string> | undefined = undefined;
  hashKey: string | undefined = undefined;
  /** The endpoint the concrete stage picked for the current attempt. */
  endpoint: Endpoint | null = null;
  /** How long the current attempt waits for response headers once it is sent; 0: the client's own default. */
  attemptTimeoutMs = 0;
  /** The client left: no stage starts anything more for it. */
  cancelled = false;
  /** What the request waits on right now, cancelled if the client leaves. */
  pending: Cancellable | null = null;
  /** Who sent it, for the admission checks (inbound). */
  caller: CallerIdentity = UNKNOWN_CALLER;
  /**
   * The protocol an HTTP/1.1 client asked to switch to (`Upgrade: websocket`), or null. Such a request is a tunnel:
   * after a 101 its body is the client's bytes and its response body the endpoint's, both for as long as they last.
   */
  upgrade: string | null = null;
  /**
   * A gRPC call (HTTP/2 with content-type application/grpc): its grpc-timeout is a deadline, its grpc-status the
   * outcome, and the mesh's own errors are answered to it as gRPC statuses.
   */
  grpc = false;

  constructor(
    readonly method: string,
    /** host[:port] the client addressed. */
    readonly authority: string,
    /** The target as the next hop gets it (origin-form: path and query). */
    readonly path: string,
    public headers: RawHeaders,
    readonly body: RequestBody | null,
    readonly downstream: Downstream,
    readonly facts: RequestFacts,
  ) {}

  /** The client is gone: whatever the request waits on is stopped, and reports CANCELLED up its handlers. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const pending = this.pending;
    this.pending = null;
    pending?.cancel();
  }
}

/** A stack of stages, or one stage with what lies below it: takes a request and answers through the handler, never throwing. */
export type Dispatch = (req: MeshRequest, handler: ResponseHandler) => void;

/** A stage that wraps the dispatch below it. */
export type Layer = (next: Dispatch) => Dispatch;

/** Layers outermost first: `compose([a, b], inner)` is `a(b(inner))`. */
export function compose(layers: readonly Layer[], inner: Dispatch): Dispatch {
  let dispatch = inner;
  for (let i = layers.length - 1; i >= 0; i--) dispatch = layers[i]!(dispatch);
  return dispatch;
}
