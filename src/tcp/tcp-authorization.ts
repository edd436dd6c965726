// TCP: who may open a connection to a tcp service — its AuthorizationPolicy read at connection level, and its JwtPolicy, which no byte stream can satisfy.
import type { AuthorizationPolicy, AuthorizationRule, JwtPolicy, Snapshot, SnapshotSource } from '../model/index.js';
import { compileAuthorization, type Authorizer, type PeerIdentity } from '../security/authz/index.js';

/** Why a connection may not reach the app: the AuthorizationPolicy refused the caller, or a JwtPolicy asks for a token. */
export type TcpDenial = 'forbidden' | 'unauthenticated';

/** Whether a rule's `to` names anything only an HTTP request has (a method, a path, a header). */
function needsHttp(rule: AuthorizationRule): boolean {
  const to = rule.to;
  return to !== undefined && (to.methods !== undefined || to.pathPrefix !== undefined || to.headers !== undefined);
}

/**
 * The policy as it reads for a connection, which has a caller but no method, path or headers:
 * - an allow rule that names HTTP attributes can never be shown to hold, so it grants nothing and is left out;
 * - a deny rule that names HTTP attributes keeps only its `from`: any connection from those callers might carry
 *   such a request, so all of them are refused (a deny can only refuse more, never let more through);
 * - rules without HTTP attributes, the default and allowUnauthenticatedSources stay as they are, so a policy
 *   that denies by default still denies every caller no rule names.
 */
export function connectionLevelPolicy(policy: AuthorizationPolicy): AuthorizationPolicy {
  const rules: AuthorizationRule[] = [];
  for (const rule of policy.rules) {
    if (!needsHttp(rule)) rules.push(rule);
    else if (rule.action === 'deny') rules.push(rule.from === undefined ? { action: 'deny' } : { from: rule.from, action: 'deny' });
  }
  return { ...policy, rules };
}

/** Judges a connection's caller: a proven mTLS identity, or ANONYMOUS_PEER for plaintext (a connection claims no name). */
export interface TcpAuthorizer {
  allows(peer: PeerIdentity): boolean;
}

const NO_HEADERS: readonly string[] = [];

export function compileTcpAuthorization(policy: AuthorizationPolicy | undefined): TcpAuthorizer {
  if (policy === undefined) return { allows: () => true };
  const authorizer: Authorizer = compileAuthorization(connectionLevelPolicy(policy));
  // No rule left looks at the method, path or headers: these stand in for a request the connection does not have.
  return { allows: (peer) => authorizer.allows(peer, '', '/', NO_HEADERS) };
}

/**
 * Whether a JwtPolicy asks any request for a token. A connection carries no token the sidecar could read, so a tcp
 * service with such a policy refuses every connection rather than let through what the policy meant to guard.
 */
export function jwtRequired(policy: JwtPolicy | undefined): boolean {
  return policy !== undefined && policy.rules.some((rule) => rule.require.length > 0);
}

export interface TcpAdmissionOptions {
  /** The service the port fronts: its policies are the ones enforced. */
  readonly service: string;
  readonly snapshots: SnapshotSource;
}

/** The service's policies compiled for connections, recompiled on each snapshot that changes them. */
export class TcpAdmission {
  private authorization: AuthorizationPolicy | undefined;
  private authorizer: TcpAuthorizer = compileTcpAuthorization(undefined);
  private jwtPolicy: JwtPolicy | undefined;
  private needsToken = false;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: TcpAdmissionOptions) {
    this.update(options.snapshots.current());
    this.unsubscribe = options.snapshots.subscribe((snapshot) => this.update(snapshot));
  }

  /** null: the caller may connect. */
  check(peer: PeerIdentity): TcpDenial | null {
    if (this.needsToken) return 'unauthenticated';
    return this.authorizer.allows(peer) ? null : 'forbidden';
  }

  close(): void {
    this.unsubscribe();
  }

  private update(snapshot: Snapshot): void {
    const authorization = snapshot.kindPolicies.AuthorizationPolicy.get(this.options.service);
    if (authorization !== this.authorization) {
      this.authorization = authorization;
      this.authorizer = compileTcpAuthorization(authorization);
    }
    const jwtPolicy = snapshot.kindPolicies.JwtPolicy.get(this.options.service);
    if (jwtPolicy !== this.jwtPolicy) {
      this.jwtPolicy = jwtPolicy;
      this.needsToken = jwtRequired(jwtPolicy);
    }
  }
}
