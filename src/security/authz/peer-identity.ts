// Security: who is calling — the PeerIdentity that authorization and per-source limits judge, and the claimed (unauthenticated) form used until mTLS.
import { SERVICE_NAME } from '../../model/index.js';

/**
 * The caller of an inbound request. `authenticated` is true only when a certificate proved it (mTLS); a name taken
 * from the x-weft-source header is a claim anyone reaching the port can make, and stays unauthenticated.
 */
export interface PeerIdentity {
  readonly service?: string;
  /** spiffe://<trust-domain>/service/<name>; present only for authenticated peers. */
  readonly spiffeId?: string;
  readonly authenticated: boolean;
}

/** A caller that names no valid service. */
export const ANONYMOUS_PEER: PeerIdentity = Object.freeze({ authenticated: false });

/** Distinct claimed names kept as shared objects; past the cap each request builds its own. */
export const MAX_CLAIMED_PEERS = 1024;

/**
 * Where the inbound side learns who calls. `claimed` is the request's x-weft-source value; an identifier that reads
 * the connection's peer certificate (mTLS) returns an authenticated identity instead and may ignore the claim.
 */
export interface PeerIdentifier {
  /** `connection` is the request's socket (HTTP/1.1) or its HTTP/2 session. */
  identify(connection: object, claimed: string | undefined): PeerIdentity;
}

/** Turns x-weft-source claims into unauthenticated PeerIdentity objects, one per distinct name (capped), so a request allocates none. */
export class ClaimedPeers implements PeerIdentifier {
  private readonly byName = new Map<string, PeerIdentity>();

  constructor(private readonly cap: number = MAX_CLAIMED_PEERS) {}

  identify(_connection: object, claimed: string | undefined): PeerIdentity {
    return this.of(claimed);
  }

  of(claimed: string | undefined): PeerIdentity {
    if (claimed === undefined) return ANONYMOUS_PEER;
    const seen = this.byName.get(claimed);
    if (seen !== undefined) return seen;
    if (!SERVICE_NAME.test(claimed)) return ANONYMOUS_PEER;
    const peer: PeerIdentity = Object.freeze({ service: claimed, authenticated: false });
    if (this.byName.size < this.cap) this.byName.set(claimed, peer);
    return peer;
  }
}

/** The key of a caller's own rate-limit bucket: its proven id, else its claimed name, else '' (all anonymous callers share one). */
export function peerKey(peer: PeerIdentity): string {
  return peer.spiffeId ?? peer.service ?? '';
}
