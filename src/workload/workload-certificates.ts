// Workload: the process's own certificate (a sidecar's or an SDK process's) — bootstrap from the control plane, renewal at 2/3 of its life, the trust bundle kept fresh, and the credentials it shows the control plane.
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { Backoff, isWeftError, type Runtime } from '../core/index.js';
import type { CertificateReply, MeshReply } from '../model/index.js';
import { bearerCredentials, type ControlClient, type ControlCredentials } from './control-client.js';
import { formatSpiffeId, spiffeId } from '../security/identity.js';
import { pemCertificateBlocks } from '../security/pem.js';
import { WorkloadIdentity, type IdentityMaterial } from '../security/tls/index.js';
import { createWorkloadAssertion } from '../security/workload-assertion.js';
import { createWorkloadCsr, generateWorkloadKey } from '../security/workload-key.js';
import type { MeshTls } from '../security/tls/index.js';

export const CERTIFICATE_DEFAULTS = {
  trustBundleRefreshMs: 30_000,
  /** Retries of a failed bootstrap or renewal: from about 250 ms, doubling, up to 10 s between tries. */
  retryBaseMs: 500,
  retryMaxMs: 10_000,
} as const;

export const RENEWAL_OUTCOMES = ['success', 'failure'] as const;
export type RenewalOutcome = (typeof RENEWAL_OUTCOMES)[number];

/** The control-plane calls a workload's certificate needs. */
export type CertificateClient = Pick<ControlClient, 'mesh' | 'trustBundle' | 'requestCertificate'>;

export interface WorkloadCertificatesOptions {
  readonly runtime: Runtime;
  /** The service whose SPIFFE id is asked for. */
  readonly service: string;
  /** The sidecar's token (a join token or an admin token), shown until a certificate is held and when the certificate is not accepted. */
  readonly token?: string;
  readonly mesh: MeshTls;
  readonly trustBundleRefreshMs?: number;
  /** The instance this sidecar fronts, once it has one (sent with each request so `weft certs` can name it). */
  readonly instanceId?: () => string | undefined;
}

/** What GET /certs on the admin port shows: facts of the certificate, never the key. */
export interface CertificateInfo {
  readonly spiffeId: string;
  readonly serial: string;
  /** ISO 8601. */
  readonly notBefore: string;
  readonly notAfter: string;
  readonly renewAt: string;
  /** SHA-256 fingerprints (hex) of the roots trusted. */
  readonly roots: readonly string[];
}

/**
 * One workload's certificate life cycle (a sidecar's or an SDK process's). `start()` asks the control plane for the mesh, makes a key in-process,
 * sends a CSR and keeps the answer in a WorkloadIdentity whose renewal timer (2/3 of the lifetime) sends the next
 * one with a fresh key. Failures are retried with bounded backoff while the certificate held stays in force: the
 * workload keeps serving with it (static stability) until it expires. The trust bundle is fetched every
 * `trustBundleRefreshMs`, so a root added or dropped by a CA rotation reaches new handshakes without a renewal.
 */
export class WorkloadCertificates {
  /** A stable random id of this sidecar process, `<service>-<8 hex>`. */
  readonly sidecarId: string;
  readonly renewals: Record<RenewalOutcome, number> = { success: 0, failure: 0 };
  /** Null until the first certificate is issued. */
  identity: WorkloadIdentity | null = null;
  serial = '';
  /** True when the control plane has no CA (an older one, without GET /mesh): the sidecar runs without mTLS. */
  unsupported = false;
  private client: CertificateClient | null = null;
  private stopped = false;
  private bundleTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private issuing: Promise<void> | null = null;
  /** Set when the control plane refused our assertion: the next call shows the token instead. */
  private preferToken = false;
  private readonly backoff: Backoff;
  private readonly bearer: ControlCredentials | undefined;
  private readonly ready = new Set<() => void>();

  constructor(private readonly options: WorkloadCertificatesOptions) {
    this.sidecarId = `${options.service}-${randomBytes(4).toString('hex')}`;
    this.backoff = new Backoff({ baseMs: CERTIFICATE_DEFAULTS.retryBaseMs, maxMs: CERTIFICATE_DEFAULTS.retryMaxMs }, options.runtime.rng);
    this.bearer = options.token === undefined ? undefined : bearerCredentials(options.token);
  }

  /**
   * The Authorization header for a control-plane request: a WeftCert assertion made with the current key and
   * chain, bound to this method and path, once a certificate is held; the token before that, after the
   * certificate expired, or once after the control plane refused an assertion.
   */
  readonly credentials: ControlCredentials = (method, pathAndQuery) => {
    const identity = this.identity;
    if (identity === null || this.preferToken || identity.expired()) return this.bearer?.(method, pathAndQuery);
    const { material } = identity.current;
    return createWorkloadAssertion({ keyPem: material.key, certChainPem: material.certChain }, { method, path: pathAndQuery, nowMs: this.options.runtime.clock.wallNow() });
  };

  /** Starts the bootstrap (in the background: the sidecar reports not ready until it succeeds) and the bundle refresh. */
  start(client: CertificateClient): this {
    this.client = client;
    this.issueWithRetry('bootstrap');
    const every = this.options.trustBundleRefreshMs ?? CERTIFICATE_DEFAULTS.trustBundleRefreshMs;
    this.bundleTimer = setInterval(() => void this.refreshBundle(), every);
    this.bundleTimer.unref();
    return this;
  }

  /** Whether a certificate is held, or the control plane has no CA to give one. */
  settled(): boolean {
    return this.identity !== null || this.unsupported;
  }

  /** Calls `listener` once the first certificate is held (or the control plane turned out to have no CA). */
  onSettled(listener: () => void): void {
    if (this.settled()) listener();
    else this.ready.add(listener);
  }

  info(): CertificateInfo | null {
    const identity = this.identity;
    if (identity === null) return null;
    const state = identity.current;
    return {
      spiffeId: state.spiffeId,
      serial: this.serial,
      notBefore: new Date(state.notBefore).toISOString(),
      notAfter: new Date(state.notAfter).toISOString(),
      renewAt: new Date(state.renewAt).toISOString(),
      roots: rootFingerprints(state.material.trustBundle),
    };
  }

  stop(): void {
    this.stopped = true;
    if (this.bundleTimer !== null) clearInterval(this.bundleTimer);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.identity?.stop();
  }

  /** One issue at a time; a failure schedules the next try, and the certificate held (if any) stays. */
  private issueWithRetry(why: 'bootstrap' | 'renewal'): void {
    // One loop at a time: a renewal timer firing while a retry waits (a bundle update re-arms it) joins that retry.
    if (this.stopped || this.issuing !== null || this.retryTimer !== null) return;
    this.issuing = this.issue()
      .then(() => {
        this.backoff.reset();
        if (why === 'renewal') this.renewals.success++;
        this.options.runtime.logger.info({ spiffeId: this.identity?.spiffeId, serial: this.serial, notAfter: this.info()?.notAfter, why }, 'workload certificate issued');
      })
      .catch((error: unknown) => {
        if (this.stopped) return;
        if (isWeftError(error) && error.code === 'NOT_FOUND' && !this.options.mesh.meshKnown) {
          this.noCertificateAuthority();
          return;
        }
        if (why === 'renewal') this.renewals.failure++;
        // A refused assertion (a root retired before we renewed, say): the token may still be good.
        if (isWeftError(error) && error.code === 'UNAUTHENTICATED' && this.identity !== null) this.preferToken = !this.preferToken;
        const delayMs = this.backoff.next();
        const code = isWeftError(error) ? error.code : 'INTERNAL';
        const message = error instanceof Error ? error.message : String(error);
        this.options.runtime.logger.warn({ why, code, error: message, retryInMs: Math.round(delayMs), holding: this.identity?.expired() === false }, 'workload certificate request failed');
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.issueWithRetry(why);
        }, delayMs);
        this.retryTimer.unref();
      })
      .finally(() => {
        this.issuing = null;
      });
  }

  private async issue(): Promise<void> {
    const client = this.client!;
    const mesh = this.options.mesh;
    if (!mesh.meshKnown) mesh.setMesh(await client.mesh());
    const key = await generateWorkloadKey();
    const id = formatSpiffeId(spiffeId(mesh.trustDomain, this.options.service));
    const csr = await createWorkloadCsr(key, id);
    const instance = this.options.instanceId?.();
    const reply = await client.requestCertificate({ service: this.options.service, csr, sidecar: this.sidecarId, ...(instance ? { instance } : {}) });
    if (this.stopped) return;
    this.preferToken = false;
    this.hold({ key: key.privateKeyPem, certChain: reply.certificateChain, trustBundle: reply.trustBundle.pem }, reply);
  }

  private hold(material: IdentityMaterial, reply: CertificateReply): void {
    if (this.identity === null) {
      this.identity = new WorkloadIdentity(material, { clock: this.options.runtime.clock, lifetimeFrom: 'received', onRenewalDue: () => this.issueWithRetry('renewal') });
      this.serial = reply.serial;
      this.options.mesh.setIdentity(this.identity);
      for (const listener of this.ready) listener();
      this.ready.clear();
      return;
    }
    this.identity.update(material);
    this.serial = reply.serial;
  }

  private async refreshBundle(): Promise<void> {
    const identity = this.identity;
    if (identity === null || this.client === null || this.stopped) return;
    try {
      const bundle = await this.client.trustBundle();
      const current = identity.current.material;
      if (this.stopped || bundle.pem === current.trustBundle || this.identity !== identity) return;
      identity.update({ ...current, trustBundle: bundle.pem });
      this.options.runtime.logger.info({ roots: rootFingerprints(bundle.pem).length }, 'trust bundle changed');
    } catch (error) {
      // The bundle held stays in force; the next tick tries again.
      this.options.runtime.logger.debug({ error: error instanceof Error ? error.message : String(error) }, 'trust bundle refresh failed');
    }
  }

  private noCertificateAuthority(): void {
    this.unsupported = true;
    this.options.mesh.setMesh({ trustDomain: '', mtlsDefault: 'disabled' } satisfies Pick<MeshReply, 'trustDomain' | 'mtlsDefault'>);
    this.options.runtime.logger.warn({}, 'the control plane has no certificate authority (no GET /mesh): running without mTLS');
    for (const listener of this.ready) listener();
    this.ready.clear();
  }
}

/** SHA-256 of each root's DER, lowercase hex, as the CA names its authorities. */
export function rootFingerprints(bundlePem: string): string[] {
  return pemCertificateBlocks(bundlePem).map((pem) => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex'));
}
