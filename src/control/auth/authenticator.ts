// Control auth: turns a request's credentials (bearer token, X-Consul-Token, WeftCert assertion) into its Principal, or refuses it with a 401.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, type Registry as MetricsRegistry } from 'prom-client';
import { isWeftError, type Clock } from '../../core/index.js';
import { WORKLOAD_ASSERTION_SCHEME } from '../../security/workload-assertion.js';
import { verifyWorkloadAssertion } from '../../security/workload-assertion-verify.js';
import { ANONYMOUS_PRINCIPAL, ApiUnauthenticatedError, AUTH_DISABLED_PRINCIPAL, CONTROL_AUTH_REALM, type Principal } from '../http/index.js';
import { accessClass } from './access.js';
import type { TokenStore } from './token-store.js';

/** The roots a sidecar's certificate must chain to, read per request so that a CA rotation is seen at once. */
export type WorkloadTrustSource = () => { readonly trustDomain: string; readonly roots: readonly string[] };

/** Fixed labels of weft_control_auth_refused_total. */
export type AuthRefusal = 'missing' | 'malformed' | 'unknown' | 'expired' | 'bad_assertion' | 'no_trust' | 'forbidden';
const REFUSALS: readonly AuthRefusal[] = ['missing', 'malformed', 'unknown', 'expired', 'bad_assertion', 'no_trust', 'forbidden'];
/** Routes that write their own errors (the Consul API) count their refusals here too. */
export const AUTH_REFUSED_METRIC = 'weft_control_auth_refused_total';

export interface AuthenticatorOptions {
  readonly tokens: TokenStore;
  /** `--dev`: every caller is an admin, nothing is checked. */
  readonly dev: boolean;
  /** `--open-read`: reads need no credentials (presented ones must still be valid). */
  readonly openRead: boolean;
  readonly workloadTrust?: WorkloadTrustSource;
  readonly clock: Clock;
  readonly metrics: MetricsRegistry;
}

/** A refusal by the authenticator itself; `presented` tells whether the challenge says `error="invalid_token"`. */
export class CredentialRefusedError extends ApiUnauthenticatedError {
  constructor(
    reason: string,
    readonly presented: boolean,
  ) {
    super(reason);
  }
}

export class ControlAuthenticator {
  private readonly refused: Counter<'reason'>;

  constructor(private readonly options: AuthenticatorOptions) {
    options.metrics.removeSingleMetric(AUTH_REFUSED_METRIC);
    this.refused = new Counter({
      name: AUTH_REFUSED_METRIC,
      help: 'Control-plane API requests refused for their credentials (401) or for what the credential may do (403), by reason.',
      labelNames: ['reason'],
      registers: [options.metrics],
    });
    for (const reason of REFUSALS) this.refused.inc({ reason }, 0);
  }

  /** The principal of the request, or throws CredentialRefusedError. */
  async authenticate(req: IncomingMessage, url: URL): Promise<Principal> {
    if (this.options.dev) return AUTH_DISABLED_PRINCIPAL;
    const access = accessClass(req.method ?? 'GET', url.pathname);
    if (access === 'open') return ANONYMOUS_PRINCIPAL;
    const credential = credentialOf(req);
    if (credential === undefined) {
      if (access === 'read' && this.options.openRead) return ANONYMOUS_PRINCIPAL;
      throw this.refuse('missing', false, `${access === 'read' ? 'reading' : 'changing'} this needs a credential: Authorization: Bearer <token> or a sidecar certificate`);
    }
    if (credential.scheme === 'bearer') return this.tokenPrincipal(credential.value);
    return this.certificatePrincipal(credential.value, req.method ?? 'GET', `${url.pathname}${url.search}`);
  }

  /** Called for every failed request: adds the challenge to 401s and counts the refusals the routes made themselves. */
  failed(error: unknown, res: ServerResponse): void {
    if (!isWeftError(error) || res.headersSent) return;
    if (error.code === 'UNAUTHENTICATED') {
      // A route's own check refused an anonymous caller (a read of tokens under --open-read): counted here, once.
      if (!(error instanceof CredentialRefusedError)) this.refused.inc({ reason: 'missing' });
      const invalid = error instanceof CredentialRefusedError && error.presented;
      res.setHeader('www-authenticate', `Bearer realm="${CONTROL_AUTH_REALM}"${invalid ? ', error="invalid_token"' : ''}`);
    } else if (error.code === 'FORBIDDEN') {
      this.refused.inc({ reason: 'forbidden' });
    }
  }

  unregister(): void {
    if (this.options.metrics.getSingleMetric(AUTH_REFUSED_METRIC) === this.refused) this.options.metrics.removeSingleMetric(AUTH_REFUSED_METRIC);
  }

  private async tokenPrincipal(text: string): Promise<Principal> {
    const checked = await this.options.tokens.check(text);
    if (!checked.ok) {
      const why = checked.reason === 'malformed' ? 'the token is not a weft token (wt1.<id>.<secret>)' : checked.reason === 'expired' ? 'the token has expired' : 'unknown or revoked token';
      throw this.refuse(checked.reason, true, why);
    }
    const { info } = checked;
    if (info.kind === 'admin') return { kind: 'admin', via: 'token', tokenId: info.id };
    return { kind: 'service', service: info.service ?? '', via: 'join-token', tokenId: info.id };
  }

  private async certificatePrincipal(jws: string, method: string, path: string): Promise<Principal> {
    const trust = this.options.workloadTrust?.();
    if (!trust || trust.roots.length === 0) throw this.refuse('no_trust', true, 'this control plane does not accept certificate credentials');
    try {
      const workload = await verifyWorkloadAssertion(jws, { method, path, nowMs: this.options.clock.wallNow(), trustBundle: trust.roots, trustDomain: trust.trustDomain });
      return { kind: 'service', service: workload.service, via: 'certificate', spiffeId: workload.spiffeId };
    } catch (error) {
      const reason = isWeftError(error) && typeof error.details.reason === 'string' ? error.details.reason : 'invalid workload assertion';
      throw this.refuse('bad_assertion', true, `certificate credential refused: ${reason}`);
    }
  }

  private refuse(reason: AuthRefusal, presented: boolean, message: string): CredentialRefusedError {
    this.refused.inc({ reason });
    return new CredentialRefusedError(message, presented);
  }
}

type Credential = { readonly scheme: 'bearer' | 'weftcert'; readonly value: string };

/** Authorization wins over X-Consul-Token; an Authorization of an unknown scheme is a credential that fails (malformed). */
function credentialOf(req: IncomingMessage): Credential | undefined {
  const authorization = req.headers.authorization?.trim();
  if (authorization) {
    const space = authorization.indexOf(' ');
    const scheme = (space < 0 ? authorization : authorization.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : authorization.slice(space + 1).trim();
    if (scheme === WORKLOAD_ASSERTION_SCHEME.toLowerCase()) return { scheme: 'weftcert', value };
    // Any other scheme is checked as a token, so that it is refused as malformed rather than ignored.
    return { scheme: 'bearer', value: scheme === 'bearer' ? value : authorization };
  }
  const consul = req.headers['x-consul-token'];
  const token = (Array.isArray(consul) ? consul[0] : consul)?.trim();
  return token ? { scheme: 'bearer', value: token } : undefined;
}
