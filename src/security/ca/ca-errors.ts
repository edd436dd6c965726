// Security CA: typed refusals of certificate signing requests (bad encoding, signature, key type or size).
import { WeftError } from '../../core/index.js';

/** A certificate signing request was refused; `reason` is stable for callers and metrics. */
export class CsrRejectedError extends WeftError {
  readonly reason: CsrRejection;
  constructor(reason: CsrRejection, message: string) {
    super('CSR_REJECTED', `certificate signing request refused: ${message}`, { details: { reason } });
    this.reason = reason;
  }
}

export type CsrRejection = 'malformed' | 'bad-signature' | 'key-algorithm' | 'key-size';
