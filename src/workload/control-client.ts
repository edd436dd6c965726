// Workload: typed REST client of the control plane's API, turning every failure into a WeftError; shared by the sidecar, the CLI and the watch.
import http from 'node:http';
import https from 'node:https';
import { NotFoundError, ValidationError, WeftError, isWeftError, type WeftErrorCode } from '../core/index.js';
import {
  apiPaths,
  type CaRotationStep,
  type CaStatusReply,
  type CertificateReply,
  type CertificateRequest,
  type CertificatesReply,
  type ErrorReply,
  type MeshReply,
  type TokenCreateRequest,
  type TokenCreatedReply,
  type TokensReply,
  type TrustBundleReply,
  type Health,
  type InstanceRegistrationInput,
  type InstanceReply,
  type InstancesReply,
  type PoliciesReply,
  type KindPoliciesReply,
  type KindPolicyRemovedReply,
  type KindPolicyReply,
  type PolicyKind,
  type PolicyRemovedReply,
  type PolicyReply,
  type ServicePolicyInput,
  type ServicesReply,
  type StatsQuery,
  type StatsReply,
  type TopologyReply,
  statsPath,
  topologyPath,
} from '../model/index.js';
import { ControlReplicas, type ControlUrls } from './control-replicas.js';

export const CONTROL_CLIENT_DEFAULT_TIMEOUT_MS = 5_000;
// Replies are small JSON documents; a runaway body means something other than the control plane answered.
const MAX_REPLY_BYTES = 32 * 1024 * 1024;

/** The control plane could not be reached or did not answer in time; callers may retry. With several URLs, it names every one tried. */
export class ControlUnavailableError extends WeftError {
  constructor(url: string | readonly string[], why: string, cause?: unknown) {
    const urls = typeof url === 'string' ? [url] : url;
    const message = urls.length === 1 ? `control plane at ${urls[0]} is unavailable: ${why}` : `no control plane answered (tried ${urls.join(', ')}): ${why}`;
    super('CONTROL_UNAVAILABLE', message, { retryable: true, cause, details: urls.length === 1 ? { url: urls[0] } : { urls } });
  }
}

/**
 * The `Authorization` header value for one request (`Bearer <token>`, or a sidecar's `WeftCert <assertion>`
 * bound to the method and path), or undefined to send none. Asked anew for every request and replica.
 */
export type ControlCredentials = (method: string, pathAndQuery: string) => string | undefined;

/** Credentials of a static token: `Bearer <token>`. */
export function bearerCredentials(token: string): ControlCredentials {
  const header = `Bearer ${token}`;
  return () => header;
}

export interface ControlClientOptions {
  /** Base URL(s) of the control plane, e.g. http://127.0.0.1:8500, or several replicas (a list or comma-separated). */
  url: ControlUrls;
  /** Credentials sent with every request; none when left out (a control plane under --dev needs none). */
  credentials?: ControlCredentials;
  /** Default timeout of one attempt against one replica. */
  timeoutMs?: number;
}

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type RegistrationRequest = InstanceRegistrationInput & { readonly id: string };

// Codes a server may send that map onto ours; anything else is reported as INTERNAL with the server's code in details.
const KNOWN_CODES: ReadonlySet<string> = new Set<WeftErrorCode>([
  'NO_ENDPOINTS', 'CONNECT_FAILED', 'UPSTREAM_RESET', 'UPSTREAM_TIMEOUT', 'UPSTREAM_PROTOCOL_ERROR', 'APP_UNAVAILABLE',
  'MISSING_HOST', 'DRAINING', 'VALIDATION_FAILED', 'NOT_FOUND', 'METHOD_NOT_ALLOWED', 'CONFLICT', 'PAYLOAD_TOO_LARGE', 'CONFIG_INVALID',
  'STORE_CORRUPT', 'STORE_CLOSED', 'STORE_FULL', 'STORE_READ_ONLY', 'STORE_UNAVAILABLE', 'AMBIGUOUS_HOST', 'CONTROL_UNAVAILABLE', 'INTERNAL',
  'UNAUTHENTICATED', 'FORBIDDEN', 'CSR_REJECTED', 'IDENTITY_INVALID', 'IDENTITY_MISMATCH',
]);

// Statuses that mean "this replica is not serving" (down, draining, behind a proxy that cannot reach it), not an answer.
const NOT_SERVING: ReadonlySet<number> = new Set([502, 503, 504]);

interface Replica {
  readonly base: URL;
  readonly origin: string;
  readonly transport: typeof http | typeof https;
  readonly agent: http.Agent;
}

export class ControlClient {
  /** Every replica's origin, in the order given. */
  readonly urls: readonly string[];
  private readonly replicas: ControlReplicas;
  private readonly endpoints: readonly Replica[];
  private readonly timeoutMs: number;
  private readonly credentials: ControlCredentials | undefined;

  constructor(options: ControlClientOptions | ControlUrls) {
    const opts: ControlClientOptions = typeof options === 'string' || Array.isArray(options) ? { url: options as ControlUrls } : (options as ControlClientOptions);
    this.replicas = new ControlReplicas(opts.url);
    this.urls = this.replicas.origins;
    this.timeoutMs = opts.timeoutMs ?? CONTROL_CLIENT_DEFAULT_TIMEOUT_MS;
    this.credentials = opts.credentials;
    this.endpoints = this.replicas.bases.map((base) => {
      const transport = base.protocol === 'https:' ? https : http;
      return { base, origin: base.origin, transport, agent: new transport.Agent({ keepAlive: true, maxSockets: 8 }) };
    });
  }

  /** Origin of the replica this client currently sticks to: the one that last answered. */
  get url(): string {
    return this.replicas.at(0).origin;
  }

  register(registration: RegistrationRequest, options?: CallOptions): Promise<InstanceReply> {
    if (typeof registration.id !== 'string' || registration.id === '') {
      return Promise.reject(new ValidationError('id', 'an instance id is required to register'));
    }
    return this.call<InstanceReply>('PUT', apiPaths.instance(registration.id), registration, `instance "${registration.id}"`, options);
  }

  deregister(id: string, options?: CallOptions): Promise<InstanceReply> {
    return this.call<InstanceReply>('DELETE', apiPaths.instance(id), undefined, `instance "${id}"`, options);
  }

  heartbeat(id: string, status: Health = 'passing', reason?: string, options?: CallOptions): Promise<InstanceReply> {
    const body = reason === undefined ? { status } : { status, reason };
    return this.call<InstanceReply>('PUT', apiPaths.heartbeat(id), body, `instance "${id}"`, options);
  }

  services(options?: CallOptions): Promise<ServicesReply> {
    return this.call<ServicesReply>('GET', apiPaths.services(), undefined, 'services', options);
  }

  instances(name: string, options?: CallOptions): Promise<InstancesReply> {
    return this.call<InstancesReply>('GET', apiPaths.serviceInstances(name), undefined, `service "${name}"`, options);
  }

  /** Stores a service's policy; the server validates it again and reports `changed: false` when it already said the same. */
  putPolicy(policy: ServicePolicyInput, options?: CallOptions): Promise<PolicyReply> {
    const service = typeof policy.service === 'string' ? policy.service : '';
    if (service === '') return Promise.reject(new ValidationError('service', 'a service name is required to store a policy'));
    return this.call<PolicyReply>('PUT', apiPaths.policy(service), policy, `service "${service}"`, options);
  }

  policies(options?: CallOptions): Promise<PoliciesReply> {
    return this.call<PoliciesReply>('GET', apiPaths.policies(), undefined, 'policies', options);
  }

  policy(service: string, options?: CallOptions): Promise<PolicyReply> {
    return this.call<PolicyReply>('GET', apiPaths.policy(service), undefined, `policy "${service}"`, options);
  }

  /** Stores a service's policy of a table kind (AuthorizationPolicy, ...); `changed: false` as for putPolicy. */
  putKindPolicy(kind: PolicyKind, policy: { readonly service?: unknown }, options?: CallOptions): Promise<KindPolicyReply> {
    const service = typeof policy.service === 'string' ? policy.service : '';
    if (service === '') return Promise.reject(new ValidationError('service', `a service name is required to store an ${kind}`));
    return this.call<KindPolicyReply>('PUT', apiPaths.kindPolicy(kind, service), policy, `${kind} "${service}"`, options);
  }

  kindPolicies(kind: PolicyKind, options?: CallOptions): Promise<KindPoliciesReply> {
    return this.call<KindPoliciesReply>('GET', apiPaths.kindPolicies(kind), undefined, `${kind} policies`, options);
  }

  kindPolicy(kind: PolicyKind, service: string, options?: CallOptions): Promise<KindPolicyReply> {
    return this.call<KindPolicyReply>('GET', apiPaths.kindPolicy(kind, service), undefined, `${kind} "${service}"`, options);
  }

  deleteKindPolicy(kind: PolicyKind, service: string, options?: CallOptions): Promise<KindPolicyRemovedReply> {
    return this.call<KindPolicyRemovedReply>('DELETE', apiPaths.kindPolicy(kind, service), undefined, `${kind} "${service}"`, options);
  }

  deletePolicy(service: string, options?: CallOptions): Promise<PolicyRemovedReply> {
    return this.call<PolicyRemovedReply>('DELETE', apiPaths.policy(service), undefined, `policy "${service}"`, options);
  }

  /** Golden metrics per service (or instance) over a window, from the sidecars' own /metrics. */
  stats(query: StatsQuery = {}, options?: CallOptions): Promise<StatsReply> {
    return this.call<StatsReply>('GET', statsPath(query), undefined, 'stats', options);
  }

  /** Who calls whom over a window, from the sidecars' outbound counters. */
  topology(query: Pick<StatsQuery, 'windowSeconds'> = {}, options?: CallOptions): Promise<TopologyReply> {
    return this.call<TopologyReply>('GET', topologyPath(query), undefined, 'topology', options);
  }

  /** What a sidecar learns before it has credentials: trust domain, default mTLS mode, whether credentials are needed. */
  mesh(options?: CallOptions): Promise<MeshReply> {
    return this.call<MeshReply>('GET', apiPaths.mesh(), undefined, 'mesh', options);
  }

  trustBundle(options?: CallOptions): Promise<TrustBundleReply> {
    return this.call<TrustBundleReply>('GET', apiPaths.trustBundle(), undefined, 'trust bundle', options);
  }

  /** Has the CA sign a workload's CSR; the credentials must allow acting for `request.service`. */
  requestCertificate(request: CertificateRequest, options?: CallOptions): Promise<CertificateReply> {
    return this.call<CertificateReply>('POST', apiPaths.certificates(), request, `certificate for "${request.service}"`, options);
  }

  /** The latest certificate issued to each sidecar. */
  certificates(options?: CallOptions): Promise<CertificatesReply> {
    return this.call<CertificatesReply>('GET', apiPaths.certificates(), undefined, 'certificates', options);
  }

  caStatus(options?: CallOptions): Promise<CaStatusReply> {
    return this.call<CaStatusReply>('GET', apiPaths.ca(), undefined, 'certificate authority', options);
  }

  caStep(step: CaRotationStep, options?: CallOptions): Promise<CaStatusReply> {
    return this.call<CaStatusReply>('POST', apiPaths.caStep(step), {}, `CA ${step}`, options);
  }

  createToken(request: TokenCreateRequest, options?: CallOptions): Promise<TokenCreatedReply> {
    return this.call<TokenCreatedReply>('POST', apiPaths.tokens(), request, 'token', options);
  }

  tokens(options?: CallOptions): Promise<TokensReply> {
    return this.call<TokensReply>('GET', apiPaths.tokens(), undefined, 'tokens', options);
  }

  revokeToken(id: string, options?: CallOptions): Promise<{ readonly revoked: string }> {
    return this.call<{ readonly revoked: string }>('DELETE', apiPaths.token(id), undefined, `token "${id}"`, options);
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    for (const endpoint of this.endpoints) endpoint.agent.destroy();
  }

  /**
   * Tries the current replica, then each other one once, in list order. Only "not serving" failures move on;
   * an answer (2xx, 400, 404, 409, ...) ends the call, and its replica becomes the current one.
   * Every request of this API is idempotent, so repeating one elsewhere after a timeout is safe.
   */
  private async call<T>(method: string, path: string, body: unknown, what: string, options: CallOptions = {}): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const failures: { origin: string; error: WeftError }[] = [];
    for (let offset = 0; offset < this.endpoints.length; offset++) {
      const { index } = this.replicas.at(offset);
      const endpoint = this.endpoints[index]!;
      try {
        const reply = await this.attempt<T>(endpoint, method, path, payload, what, options);
        this.replicas.use(index);
        return reply;
      } catch (error) {
        if (options.signal?.aborted) throw error;
        if (!isWeftError(error) || !notServing(error)) {
          // An answer, even a refusal, means this replica is serving.
          this.replicas.use(index);
          throw error;
        }
        failures.push({ origin: endpoint.origin, error });
      }
    }
    const only = failures.length === 1 ? failures[0] : undefined;
    if (only) throw only.error;
    throw new ControlUnavailableError(
      failures.map((f) => f.origin),
      failures.map((f) => `${f.origin}: ${reasonOf(f.error)}`).join('; '),
      new AggregateError(failures.map((f) => f.error)),
    );
  }

  private attempt<T>(endpoint: Replica, method: string, path: string, payload: Buffer | undefined, what: string, options: CallOptions): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const target = new URL(path, endpoint.base);
    const url = endpoint.origin;
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
    const authorization = this.credentials?.(method, target.pathname + target.search);
    if (authorization !== undefined) headers.authorization = authorization;
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }

    return new Promise<T>((resolve, reject) => {
      const fail = (cause: unknown): void => {
        if (options.signal?.aborted) reject(options.signal.reason);
        else if (timeout.aborted) reject(new ControlUnavailableError(url, `no answer within ${timeoutMs} ms`, cause));
        else reject(new ControlUnavailableError(url, describe(cause), cause));
      };
      const req = endpoint.transport.request(target, { method, headers, agent: endpoint.agent, signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_REPLY_BYTES) {
            res.destroy(new Error(`reply larger than ${MAX_REPLY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          let parsed: unknown;
          try {
            const text = Buffer.concat(chunks).toString('utf8');
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch (cause) {
            // A gateway in front of a dead replica answers in its own format; that is still "not serving".
            reject(new WeftError('INTERNAL', `control plane at ${url} sent a reply that is not JSON (${method} ${path}, status ${status})`, {
              cause,
              retryable: NOT_SERVING.has(status),
              details: { status },
            }));
            return;
          }
          if (status >= 200 && status < 300) resolve(parsed as T);
          else reject(errorFromReply(status, parsed, what, url));
        });
      });
      req.on('error', fail);
      req.end(payload);
    });
  }
}

function notServing(error: WeftError): boolean {
  if (error instanceof ControlUnavailableError) return true;
  const status = error.details.status;
  return typeof status === 'number' && NOT_SERVING.has(status);
}

function reasonOf(error: WeftError): string {
  if (error instanceof ControlUnavailableError) {
    // Strip "control plane at URL is unavailable: " — the URL is already named next to the reason.
    const at = error.message.indexOf(': ');
    return at >= 0 ? error.message.slice(at + 2) : error.message;
  }
  const { status, serverCode } = error.details;
  return `answered ${typeof status === 'number' ? status : '?'} ${typeof serverCode === 'string' ? serverCode : error.code}: ${error.message}`;
}

function errorFromReply(status: number, body: unknown, what: string, url: string): WeftError {
  const reply = isErrorReply(body) ? body : undefined;
  if (status === 404) return new NotFoundError(what);
  if (status === 400 || reply?.code === 'VALIDATION_FAILED') {
    const field = reply?.field ?? '';
    // The server's message already names the field; ValidationError adds it again, so strip it once.
    const message = reply?.message ?? 'invalid request';
    const bare = field && message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
    return new ValidationError(field, bare);
  }
  const code: WeftErrorCode = reply && KNOWN_CODES.has(reply.code) ? (reply.code as WeftErrorCode) : 'INTERNAL';
  const message = reply?.message ?? `control plane at ${url} answered ${status}`;
  return new WeftError(code, message, {
    retryable: status >= 500 || code === 'CONTROL_UNAVAILABLE',
    details: { status, ...(reply && reply.code !== code ? { serverCode: reply.code } : {}) },
  });
}

function isErrorReply(value: unknown): value is ErrorReply {
  return typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string'
    && typeof (value as { message?: unknown }).message === 'string';
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
