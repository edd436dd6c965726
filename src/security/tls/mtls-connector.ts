// Security/TLS: outbound mTLS to a peer sidecar: our identity, the bundle's roots, and the SPIFFE id the snapshot expects there.
import { connect, type ConnectionOptions, type PeerCertificate, type TLSSocket } from 'node:tls';
import { isWeftError } from '../../core/index.js';
import type { Connector } from '../../transport/index.js';
import { formatHostPort } from '../../model/index.js';
import { spiffeIdOfSubjectAltName } from './spiffe-id.js';
import { PeerIdentityMismatchError, PeerUntrustedError } from './tls-errors.js';
import type { WorkloadIdentity } from './workload-identity.js';

export interface MtlsPeer {
  /** The SPIFFE id the snapshot gives for the instance at this address; any other is refused. */
  readonly expectedSpiffeId: string;
  /** The protocols offered by ALPN, preferred first; default HTTP/1.1 only. */
  readonly alpn?: readonly string[];
}

/** ALPN of an HTTP/1.1 pool: a peer that also speaks HTTP/2 must not pick it for this connection. */
export const HTTP1_ONLY_ALPN: readonly string[] = ['http/1.1'];
/** ALPN of an HTTP/2 pool: h2, or HTTP/1.1 from a peer without it, which the pool then reports as such. */
export const HTTP2_ALPN: readonly string[] = ['h2', 'http/1.1'];

export interface MtlsConnectorOptions extends MtlsPeer {
  readonly identity: WorkloadIdentity;
  /** A connection whose handshake is not done within this time fails. */
  readonly timeoutMs?: number;
}

export const MTLS_CONNECT_DEFAULTS = { timeoutMs: 1_000, keepAliveInitialDelayMs: 60_000 } as const;

/**
 * The chain is checked by OpenSSL against the bundle; this replaces the hostname check, which does not
 * apply to workloads (an instance is known by its SPIFFE id, not by the address it happens to have).
 */
export function checkPeerSpiffeId(expectedSpiffeId: string, certificate: PeerCertificate): PeerIdentityMismatchError | undefined {
  const actual = spiffeIdOfSubjectAltName(certificate.subjectaltname);
  return actual === expectedSpiffeId ? undefined : new PeerIdentityMismatchError(expectedSpiffeId, actual);
}

/**
 * node:tls client options for one connection to a peer: the identity's current context (so a connection
 * made after a rotation presents the new certificate), no session reuse (every handshake shows the
 * current certificates both ways), and the SPIFFE check in place of the hostname check.
 */
export function mtlsConnectionOptions(identity: WorkloadIdentity, peer: MtlsPeer): ConnectionOptions {
  const expected = peer.expectedSpiffeId;
  return {
    secureContext: identity.current.secureContext,
    minVersion: 'TLSv1.3',
    rejectUnauthorized: true,
    ALPNProtocols: [...(peer.alpn ?? HTTP1_ONLY_ALPN)],
    checkServerIdentity: (_host, certificate) => checkPeerSpiffeId(expected, certificate),
  };
}

/**
 * A connector (the `connect` option of an endpoint pool) for one peer instance. Failures are typed: a
 * wrong SPIFFE id is PeerIdentityMismatchError, a chain the bundle does not vouch for (another CA,
 * expired) is PeerUntrustedError; socket errors pass through as they are.
 */
export function mtlsConnector(options: MtlsConnectorOptions): Connector {
  const timeoutMs = options.timeoutMs ?? MTLS_CONNECT_DEFAULTS.timeoutMs;
  return (target, callback) => {
    const { host, port } = target;
    const address = formatHostPort(host, port);
    let settled = false;
    const socket: TLSSocket = connect({ ...mtlsConnectionOptions(options.identity, options), host, port });
    const timer = setTimeout(() => fail(new Error(`TLS handshake with ${address} took over ${timeoutMs} ms`)), timeoutMs);
    function fail(err: Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      callback(typedConnectError(address, err), null);
    }
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('error', fail);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, MTLS_CONNECT_DEFAULTS.keepAliveInitialDelayMs);
      callback(null, socket);
    });
  };
}

const CERTIFICATE_REFUSALS = /^(CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|INVALID_CA|PATH_LENGTH_)/;

function typedConnectError(address: string, err: Error): Error {
  if (isWeftError(err)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' && CERTIFICATE_REFUSALS.test(code) ? new PeerUntrustedError(address, code, err) : err;
}
