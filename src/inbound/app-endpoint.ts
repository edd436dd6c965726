// Inbound: the endpoint stage in front of the local app — one attempt (there is no other instance here), its connect failure told as APP_UNAVAILABLE.
import { AppUnavailableError, type WeftError } from '../core/index.js';
import type { Dispatch, FlowControl, MeshRequest, RawHeaders, ResponseHandler } from '../http/index.js';
import type { UpstreamPool } from '../transport/index.js';

export class AppEndpointStage {
  readonly dispatch: Dispatch;

  constructor(
    readonly pool: UpstreamPool,
    /** No response headers within this time after the request was sent is UPSTREAM_TIMEOUT. */
    private readonly responseTimeoutMs: number,
  ) {
    this.dispatch = (req, handler) => this.send(req, handler);
  }

  private send(req: MeshRequest, handler: ResponseHandler): void {
    req.attempt = 1;
    req.attemptTimeoutMs = this.responseTimeoutMs;
    req.facts.attempts = 1;
    req.facts.upstreamAddress = this.pool.address;
    this.pool.dispatch(req, new AppCall(this.pool.address, handler));
  }
}

/** Passes the app's answer up; a refused connection means the app is down, which the caller's sidecar may route around. */
class AppCall implements ResponseHandler {
  constructor(
    private readonly address: string,
    private readonly handler: ResponseHandler,
  ) {}

  onStart(status: number, headers: RawHeaders, flow: FlowControl, reason: string): void {
    this.handler.onStart(status, headers, flow, reason);
  }

  onData(chunk: Buffer): boolean {
    return this.handler.onData(chunk);
  }

  onEnd(trailers: RawHeaders | null): void {
    this.handler.onEnd(trailers);
  }

  onError(error: WeftError): void {
    this.handler.onError(error.code === 'CONNECT_FAILED' ? new AppUnavailableError(this.address, error) : error);
  }
}
