// Security/authz: the caller proven by its mTLS certificate (a SPIFFE id of our trust domain), else its x-weft-source claim.
import { IdentityInvalidError, parseSpiffeId } from '../identity.js';
import { peerSpiffeId } from '../tls/index.js';
import { ClaimedPeers, MAX_CLAIMED_PEERS, type PeerIdentifier, type PeerIdentity } from './peer-identity.js';

/**
 * The inbound side's PeerIdentifier once the sidecar holds a certificate. A caller whose TLS handshake proved
 * `spiffe://<trustDomain>/service/<name>` is that service, authenticated, whatever its x-weft-source says; a
 * certificate of another trust domain (possible only if its root was trusted) or a plaintext caller falls back to
 * the claim, unauthenticated. Identities are shared objects, one per distinct id (capped), so a request allocates none.
 */
export class MtlsPeers implements PeerIdentifier {
  /** Per proven id: its trust domain and identity, or null when the id is not a weft workload id. */
  private readonly proven = new Map<string, { readonly trustDomain: string; readonly peer: PeerIdentity } | null>();
  private readonly claimed: ClaimedPeers;

  constructor(
    /** Read per request: the trust domain is known only once the control plane has said it. */
    private readonly trustDomain: () => string,
    private readonly cap: number = MAX_CLAIMED_PEERS,
  ) {
    this.claimed = new ClaimedPeers(cap);
  }

  identify(connection: object, claimed: string | undefined): PeerIdentity {
    const id = peerSpiffeId(connection);
    if (id === null) return this.claimed.of(claimed);
    return this.ofSpiffeId(id) ?? this.claimed.of(claimed);
  }

  /** The authenticated identity for a proven id of our trust domain; null for any other id. */
  ofSpiffeId(id: string): PeerIdentity | null {
    let entry = this.proven.get(id);
    if (entry === undefined) {
      entry = parsed(id);
      if (this.proven.size < this.cap) this.proven.set(id, entry);
    }
    return entry !== null && entry.trustDomain === this.trustDomain() ? entry.peer : null;
  }
}

function parsed(id: string): { readonly trustDomain: string; readonly peer: PeerIdentity } | null {
  try {
    const { trustDomain, service } = parseSpiffeId(id);
    return { trustDomain, peer: Object.freeze({ service, spiffeId: id, authenticated: true }) };
  } catch (error) {
    if (error instanceof IdentityInvalidError) return null;
    throw error;
  }
}
