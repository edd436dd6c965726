// Transport: the request body of one attempt, a stream the client connection pulls only once its connection is up.
import { Readable } from 'node:stream';

/** Where an attempt's body comes from: the server exchange that reads the client. */
export interface BodySource {
  onBodyPull(body: AttemptBody): void;
  onBodyDestroyed(body: AttemptBody): void;
}

/**
 * Stands between the client's request and an attempt: a failed attempt's connection destroys the body it was
 * sending, and the client's own stream must outlive an attempt. Nothing is read from the client until the
 * connection reads the body, so a request whose connection never came up keeps its body untouched for another endpoint.
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
