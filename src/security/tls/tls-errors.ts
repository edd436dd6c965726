// Security/TLS: the typed failures of mTLS between sidecars: a peer with the wrong identity, an untrusted peer, unusable material.
import { WeftError } from '../../core/index.js';

/** The peer's chain is valid but names another workload than the one the snapshot expects at that address. */
export class PeerIdentityMismatchError extends WeftError {
  constructor(expected: string, actual: string | null) {
    super('PEER_IDENTITY_MISMATCH', `peer presented ${actual ?? 'no SPIFFE id'}, expected ${expected}`, {
      details: { expected, actual },
    });
  }
}

/** The peer's certificate does not chain to the trust bundle, has expired, or is otherwise refused by the TLS stack. */
export class PeerUntrustedError extends WeftError {
  /** OpenSSL's reason, e.g. CERT_HAS_EXPIRED or UNABLE_TO_VERIFY_LEAF_SIGNATURE. */
  readonly reason: string;
  constructor(target: string, reason: string, cause?: unknown) {
    super('PEER_UNTRUSTED', `peer ${target} is not trusted: ${reason}`, { cause, details: { target, reason } });
    this.reason = reason;
  }
}

/** Key, certificate chain or trust bundle handed to a workload identity cannot be used; the previous material stays in force. */
export class IdentityInvalidError extends WeftError {
  constructor(message: string, cause?: unknown) {
    super('IDENTITY_INVALID', `workload identity: ${message}`, { cause });
  }
}
