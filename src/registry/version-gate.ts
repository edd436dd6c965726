// Registry: lets a writer wait until the registry's own view has caught up with the store revision of its write.
import { WeftError } from '../core/index.js';

interface Waiter {
  readonly version: number;
  resolve(): void;
  reject(error: unknown): void;
}

export class VersionGate {
  private readonly waiters: Waiter[] = [];
  private closed = false;

  /** Resolves once `settle` has been called with a version at or past `version`. */
  reach(version: number, current: number): Promise<void> {
    if (version <= current) return Promise.resolve();
    if (this.closed) return Promise.reject(closedError());
    return new Promise((resolve, reject) => this.waiters.push({ version, resolve, reject }));
  }

  /** The view now includes `current`: releases every writer waiting for it or less. */
  settle(current: number): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      if (waiter.version <= current) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  /** Fails every waiting writer: the registry closed before its view caught up. */
  close(): void {
    this.closed = true;
    const error = closedError();
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}

function closedError(): WeftError {
  return new WeftError('STORE_CLOSED', 'the registry is closed');
}
