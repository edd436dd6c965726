// Transport/http1: the server side of one request — node:http's request in as a MeshRequest, the stack's answer out through the response.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WeftError } from '../../core/index.js';
import { errorReply, type FlowControl, type HeaderMap, type RawHeaders } from '../../http/index.js';
import { onClientClose, onClientDrain, tag } from '../exchange-events.js';
import { ServerExchange, type ServerEdge } from '../server-exchange.js';
import { forwardedHead } from './request-target.js';


/**
 * One request of a node:http server, its answer written through node:http's response. Errors become a response here
 * (or, once headers went out, a broken-off response).
 */
export class Http1ServerExchange extends ServerExchange {
  private responseBodyStarted = false;
  private waitingDrain = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    edge: ServerEdge,
    /** Authority the request is for (the absolute-form target's or Host), as the server judged it. */
    authority: string,
    /** Largest body kept to send it again after a failed attempt; 0 keeps none. */
    replayLimitBytes: number,
    startedAt: number,
  ) {
    const head = forwardedHead(req);
    super(req, edge, { method: req.method ?? 'GET', authority, path: head.path, headers: head.headers, hasBody: head.hasBody }, replayLimitBytes, startedAt);
    tag(res, this);
    res.on('close', onClientClose);
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

  /** @internal */
  override onClientDrain(): void {
    this.waitingDrain = false;
    super.onClientDrain();
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
