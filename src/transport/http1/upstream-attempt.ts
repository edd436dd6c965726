// Transport/http1: one attempt of an exchange as an undici dispatch handler; it forwards undici's callbacks to its exchange.
import type { Dispatcher } from 'undici';
import type { EndpointPool } from './endpoint-pool.js';
import type { Http1Exchange } from './exchange.js';

/**
 * A small object per attempt rather than the exchange itself as the handler: callbacks of an attempt
 * that was given up (retried elsewhere, timed out) must be told apart from the current one's.
 */
export class UpstreamAttempt implements Dispatcher.DispatchHandler {
  /** Set once undici writes the request on a connected socket: from then on it may have reached the endpoint. */
  connected = false;
  abortRequest: ((err?: Error) => void) | null = null;
  resumeResponse: (() => void) | null = null;

  constructor(
    readonly exchange: Http1Exchange,
    readonly pool: EndpointPool,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    this.connected = true;
    this.abortRequest = abort;
    this.exchange.onAttemptConnected(this);
  }

  /** Called by undici once the whole request (head and body) is written; absent from its typings. */
  onRequestSent(): void {
    this.exchange.onAttemptSent(this);
  }

  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    this.resumeResponse = resume;
    return this.exchange.onAttemptHeaders(this, statusCode, headers, statusText);
  }

  onData(chunk: Buffer): boolean {
    return this.exchange.onAttemptData(this, chunk);
  }

  onComplete(): void {
    this.exchange.onAttemptComplete(this);
  }

  onError(err: Error): void {
    this.exchange.onAttemptError(this, err);
  }

  /** Stops the request and closes its connection; a no-op before it was written (it then fails or is ignored). */
  abort(): void {
    const abort = this.abortRequest;
    this.abortRequest = null;
    if (abort !== null) abort();
  }
}
