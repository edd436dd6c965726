// TCP: two connected sockets relayed both ways — half-close carried across, backpressure by pipe, one idle timer over both directions, torn down together.
import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '../core/index.js';

export interface SpliceOptions {
  readonly clock: Clock;
  /** No byte read, and no write buffer drained, on either socket for this long: both are destroyed. */
  readonly idleTimeoutMs: number;
  /** Called once if the idle timer closed the connection. */
  readonly onIdle: () => void;
  /** Called once, after both sockets have closed, with the first socket error if there was one. */
  readonly onClose: (error: Error | undefined) => void;
}

/**
 * A relay between a downstream (the accepted connection) and an upstream (the one the sidecar opened).
 *
 * Both sockets are switched to allowHalfOpen: Node would otherwise end a socket's write side as soon as its read
 * side ends, and a reply sent after the client's FIN (a request-then-shutdown protocol) would be cut off. A FIN read
 * on one side is passed on as a FIN on the other by pipe; each socket closes once both of its directions are done.
 * An error or an abrupt close on either side destroys the other, so no half of a connection outlives its partner.
 */
export class Splice {
  private lastActivity: number;
  private timer: TimerHandle | null = null;
  private readonly closedSides = new Set<Socket>();
  private firstError: Error | undefined;
  private ending = false;
  private finished = false;

  constructor(
    readonly downstream: Socket,
    readonly upstream: Socket,
    private readonly options: SpliceOptions,
  ) {
    this.lastActivity = options.clock.now();
    downstream.allowHalfOpen = true;
    upstream.allowHalfOpen = true;
    this.follow(downstream, upstream);
    this.follow(upstream, downstream);
    // Pipes before the activity listeners: a 'data' listener alone would set a fresh socket flowing with nobody to take its bytes.
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    for (const socket of [downstream, upstream]) {
      socket.on('data', this.touch);
      socket.on('drain', this.touch);
    }
    this.timer = options.clock.setTimer(checkIdle, options.idleTimeoutMs, this);
    // A side destroyed before the relay began (the caller left while the other side was being opened) may have emitted
    // its 'close' already; after the pending 'close' events have had their turn, it is counted here if it was not.
    if (downstream.destroyed) setImmediate(() => this.sideClosed(downstream, upstream));
    if (upstream.destroyed) setImmediate(() => this.sideClosed(upstream, downstream));
  }

  /**
   * Ends the connection cleanly (a drain): the upstream gets a FIN after what the client already sent, and nothing more
   * of the client's goes to it; what the upstream still sends (the replies to those requests) is relayed until its own
   * FIN, which the pipe passes on to the client. The caller cuts what is still open when the drain time is up.
   */
  end(): void {
    if (this.ending || this.finished) return;
    this.ending = true;
    this.downstream.unpipe(this.upstream);
    this.downstream.resume();
    if (!this.upstream.writableEnded) this.upstream.end();
  }

  /** Tears both sockets down at once. */
  destroy(): void {
    this.downstream.destroy();
    this.upstream.destroy();
  }

  private follow(socket: Socket, partner: Socket): void {
    socket.on('error', (error: Error) => {
      this.firstError ??= error;
      partner.destroy();
      socket.destroy();
    });
    socket.once('close', () => this.sideClosed(socket, partner));
  }

  private readonly touch = (): void => {
    this.lastActivity = this.options.clock.now();
  };

  private sideClosed(socket: Socket, partner: Socket): void {
    if (this.closedSides.has(socket)) return;
    this.closedSides.add(socket);
    // A side that finished both its directions leaves its partner to finish too (pipe has already passed the FIN on);
    // one that closed any other way (reset, destroyed) takes it down.
    if (!(socket.readableEnded && socket.writableFinished)) partner.destroy();
    if (this.closedSides.size < 2) return;
    this.finished = true;
    if (this.timer !== null) this.options.clock.clearTimer(this.timer);
    this.timer = null;
    this.options.onClose(this.firstError);
  }

  /** Runs when the timer fires: closes an idle connection, or sets the timer again for the time left. */
  checkIdle(): void {
    this.timer = null;
    if (this.finished) return;
    const idle = this.options.clock.now() - this.lastActivity;
    if (idle < this.options.idleTimeoutMs) {
      this.timer = this.options.clock.setTimer(checkIdle, this.options.idleTimeoutMs - idle, this);
      return;
    }
    this.options.onIdle();
    this.destroy();
  }
}

function checkIdle(splice: Splice): void {
  splice.checkIdle();
}
