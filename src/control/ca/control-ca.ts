// Control CA: the control plane's certificate authority — opened from the data dir, the shared store or given files — kept fresh, with its issuance log.
import type { Logger } from 'pino';
import type { Clock } from '../../core/index.js';
import type { RegistryBackend } from '../../registry/index.js';
import { CA_DEFAULTS, CertificateAuthority, FileCaStore } from '../../security/ca/index.js';
import { BackendCaStore } from './backend-ca-store.js';
import { IssuanceLog } from './issuance-log.js';

export const DEFAULT_TRUST_DOMAIN = 'weft.local';

export interface ControlCaOptions {
  readonly trustDomain?: string;
  /** An external intermediate (with its chain) and its key, instead of a root this control plane makes and stores. */
  readonly files?: { readonly certPath: string; readonly keyPath: string };
  /** Where a managed CA lives: the data dir of the embedded store, or the shared backend (etcd, or memory under --dev). */
  readonly storage: { readonly dataDir: string } | { readonly backend: RegistryBackend };
  readonly leafLifetimeMs?: number;
  readonly clock: Clock;
}

/** Opens the CA. A managed CA's state is re-read every few seconds, so a rotation made by another control plane is seen here. */
export class ControlCa {
  private readonly timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly authority: CertificateAuthority,
    readonly issuance: IssuanceLog,
    logger: Logger,
    refreshMs: number | undefined,
  ) {
    if (refreshMs !== undefined) {
      this.timer = setInterval(() => {
        void authority
          .refresh()
          .then(() => authority.advance())
          .catch((error: unknown) => logger.warn({ err: error }, 'CA state could not be re-read; using the last one'));
      }, refreshMs);
      this.timer.unref();
    }
  }

  static async open(options: ControlCaOptions, issuanceBackend: RegistryBackend, logger: Logger): Promise<ControlCa> {
    const trustDomain = options.trustDomain ?? DEFAULT_TRUST_DOMAIN;
    const common = { trustDomain, clock: options.clock, ...(options.leafLifetimeMs === undefined ? {} : { leafLifetimeMs: options.leafLifetimeMs }) };
    const issuance = new IssuanceLog(issuanceBackend, () => options.clock.wallNow());
    if (options.files) {
      const authority = await CertificateAuthority.fromFiles({ ...common, certPath: options.files.certPath, keyPath: options.files.keyPath });
      return new ControlCa(authority, issuance, logger, undefined);
    }
    const store = 'dataDir' in options.storage ? new FileCaStore(options.storage.dataDir) : new BackendCaStore(options.storage.backend);
    const authority = await CertificateAuthority.open({ ...common, store });
    return new ControlCa(authority, issuance, logger, CA_DEFAULTS.refreshIntervalMs);
  }

  get trustDomain(): string {
    return this.authority.trustDomain;
  }

  /** What the API's authentication checks a sidecar's certificate against: the roots trusted now. */
  workloadTrust(): { trustDomain: string; roots: readonly string[] } {
    return { trustDomain: this.authority.trustDomain, roots: this.authority.trustBundle().roots };
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
