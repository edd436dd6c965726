// Transport/http1: the request body of one attempt, a stream that undici pulls only once its connection is up.
import { Readable } from 'node:stream';

/** Where an attempt's body comes from: the server exchange that reads the client. */
export interface BodySource {
  onBodyPull(body: AttemptBody): void;
  onBodyDestroyed(body: AttemptBody): void;
}

/**
 * Stands between the client's request and undici: undici destroys the body of a failed request, and
 * the client's own stream must outlive an attempt. Nothing is read from the client until undici asks,
 * so a request whose connection never came up keeps its body untouched for another endpoint.
 */
export class AttemptBody extends Readable {
  constructor(private readonly source: BodySource) {
    super();
  }

  override _read(): void {
    this.source.onBodyPull(this);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.source.onBodyDestroyed(this);
    callback(err);
  }
}
