// Security CA: the control plane's certificate authority — opens or creates its state, signs workload CSRs, serves the trust bundle, rotates roots.
import { createHash } from 'node:crypto';
import { ConfigError, VersionConflictError, WeftError, type Clock } from '../../core/index.js';
import { assertTrustDomain, spiffeId } from '../identity.js';
import { createRootAuthority, loadExternalAuthority, restoreAuthority, rootOf, type Authority, type ExternalAuthorityFiles } from './authority.js';
import {
  activateNewRoot,
  advanceBySchedule,
  beginRotation,
  initialState,
  retireOldRoot,
  type CaStateDocument,
  type RotationPhase,
  type RotationSchedule,
  type StoredAuthority,
} from './ca-state.js';
import type { CaStore, StoredState } from './ca-store.js';
import { acceptCsr } from './csr.js';
import { issueLeaf, type IssuedCertificate } from './leaf-issuer.js';

const DAY_MS = 86_400_000;
export const CA_DEFAULTS = {
  rootLifetimeMs: 365 * DAY_MS,
  leafLifetimeMs: DAY_MS,
  refreshIntervalMs: 5_000,
} as const;
const MAX_WRITE_ATTEMPTS = 5;

interface CommonOptions {
  readonly trustDomain: string;
  /** Only `wallNow` is used: certificate dates are wall-clock time. */
  readonly clock: Clock;
  /** Leaf lifetime; 24 h by default. */
  readonly leafLifetimeMs?: number;
}

export interface ManagedCaOptions extends CommonOptions {
  readonly store: CaStore;
  /** Lifetime of a root this CA creates; one year by default. */
  readonly rootLifetimeMs?: number;
  /** Automatic rotation steps; without it, `activate` and `retire` are explicit calls. */
  readonly rotation?: RotationSchedule;
  /** How long a state read from the store is used before reading again (another control plane may have rotated). */
  readonly refreshIntervalMs?: number;
}

export type ExternalCaOptions = CommonOptions & ExternalAuthorityFiles;

export interface TrustBundle {
  /** Each root as PEM, oldest first. */
  readonly roots: readonly string[];
  /** All roots in one PEM text, as TLS `ca` options and `openssl verify -CAfile` take them. */
  readonly pem: string;
}

export interface AuthorityStatus {
  readonly id: string;
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 of the DER certificate, hex. */
  readonly fingerprint: string;
  readonly signing: boolean;
}

/** What `weft certs` and the CA API will show. */
export interface CaStatus {
  /** `managed`: roots this CA made and stores; `external`: an intermediate from `--ca-cert/--ca-key`. */
  readonly source: 'managed' | 'external';
  readonly trustDomain: string;
  readonly phase: RotationPhase;
  readonly phaseSince: Date | undefined;
  readonly authorities: readonly AuthorityStatus[];
}

interface View {
  readonly stored: StoredState | undefined;
  /** Authorities in the bundle, by id; for an external CA, the loaded intermediate. */
  readonly authorities: ReadonlyMap<string, Authority>;
  readonly signing: Authority;
  readonly bundle: TrustBundle;
  readonly readAt: number;
}

export class CertificateAuthority {
  private view: View;
  private refreshing: Promise<void> | undefined;

  private constructor(
    readonly trustDomain: string,
    private readonly clock: Clock,
    private readonly leafLifetimeMs: number,
    private readonly managed: { readonly store: CaStore; readonly rootLifetimeMs: number; readonly rotation: RotationSchedule; readonly refreshIntervalMs: number } | undefined,
    view: View,
  ) {
    this.view = view;
  }

  /** Loads the CA state from the store, creating a root on first start (if several control planes race, the first write wins). */
  static async open(options: ManagedCaOptions): Promise<CertificateAuthority> {
    assertTrustDomain(options.trustDomain);
    const managed = {
      store: options.store,
      rootLifetimeMs: options.rootLifetimeMs ?? CA_DEFAULTS.rootLifetimeMs,
      rotation: options.rotation ?? {},
      refreshIntervalMs: options.refreshIntervalMs ?? CA_DEFAULTS.refreshIntervalMs,
    };
    let stored = await options.store.load();
    if (!stored) {
      const now = options.clock.wallNow();
      const root = await createRootAuthority(options.trustDomain, managed.rootLifetimeMs, now);
      stored = await options.store.createIfAbsent(initialState(options.trustDomain, toStored(root), now));
    }
    if (stored.state.trustDomain !== options.trustDomain) {
      throw new ConfigError(options.store.location, 'trustDomain', `expected trust domain "${options.trustDomain}", but this CA state belongs to "${stored.state.trustDomain}"`);
    }
    const view = await buildView(stored, new Map(), options.store.location, options.clock.wallNow());
    return new CertificateAuthority(options.trustDomain, options.clock, options.leafLifetimeMs ?? CA_DEFAULTS.leafLifetimeMs, managed, view);
  }

  /** Uses an intermediate (or root) given as PEM files; it is not stored, and is rotated by replacing the files. */
  static async fromFiles(options: ExternalCaOptions): Promise<CertificateAuthority> {
    assertTrustDomain(options.trustDomain);
    const authority = await loadExternalAuthority(options, options.clock.wallNow());
    const root = rootOf(authority);
    const view: View = {
      stored: undefined,
      authorities: new Map([[authority.id, authority]]),
      signing: authority,
      bundle: bundleOf([root.toString('pem')]),
      readAt: options.clock.wallNow(),
    };
    return new CertificateAuthority(options.trustDomain, options.clock, options.leafLifetimeMs ?? CA_DEFAULTS.leafLifetimeMs, undefined, view);
  }

  /**
   * Signs a CSR for `service`, the identity the caller has proven it may hold (by join token or current certificate). The CSR
   * must ask for exactly that SPIFFE id; the certificate's contents are set here, never copied from the request.
   */
  async sign(csr: string | Uint8Array, service: string): Promise<IssuedCertificate> {
    const identity = spiffeId(this.trustDomain, service);
    const accepted = await acceptCsr(csr, identity);
    await this.refreshIfStale();
    await this.takeDueSteps();
    return issueLeaf(this.view.signing, accepted, identity, this.leafLifetimeMs, this.clock.wallNow());
  }

  /** The roots a workload must trust: during a rotation, the old and the new one. */
  trustBundle(): TrustBundle {
    return this.view.bundle;
  }

  status(): CaStatus {
    const state = this.view.stored?.state;
    return {
      source: this.managed ? 'managed' : 'external',
      trustDomain: this.trustDomain,
      phase: state?.phase ?? 'steady',
      phaseSince: state ? new Date(state.phaseSince) : undefined,
      authorities: [...this.view.authorities.values()].map((authority) => ({
        id: authority.id,
        subject: authority.certificate.subject,
        notBefore: authority.certificate.notBefore,
        notAfter: authority.certificate.notAfter,
        fingerprint: createHash('sha256').update(Buffer.from(authority.certificate.rawData)).digest('hex'),
        signing: authority === this.view.signing,
      })),
    };
  }

  /** Rotation step 1: a new root joins the trust bundle; the current root keeps signing until `activate`. */
  async rotate(): Promise<CaStatus> {
    const managed = this.requireManaged('rotate');
    return this.change(async (state) => {
      const now = this.clock.wallNow();
      const root = await createRootAuthority(this.trustDomain, managed.rootLifetimeMs, now);
      return beginRotation(state, toStored(root), now);
    });
  }

  /** Rotation step 2: the new root signs. Call once every workload has the two-root bundle. */
  activate(): Promise<CaStatus> {
    this.requireManaged('activate a root');
    return this.change((state) => activateNewRoot(state, this.clock.wallNow()));
  }

  /** Rotation step 3: the old root leaves the bundle. Call once every leaf it signed has expired. */
  retire(): Promise<CaStatus> {
    this.requireManaged('retire a root');
    return this.change((state) => retireOldRoot(state, this.clock.wallNow()));
  }

  /** Takes the rotation steps the schedule says are due (none without a schedule). */
  async advance(): Promise<CaStatus> {
    await this.takeDueSteps();
    return this.status();
  }

  /** Reads the state again from the store (e.g. after another control plane rotated). */
  async refresh(): Promise<void> {
    if (!this.managed) return;
    this.refreshing ??= (async () => {
      try {
        const stored = await this.managed?.store.load();
        if (stored) await this.adopt(stored);
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private async takeDueSteps(): Promise<void> {
    const state = this.view.stored?.state;
    if (!this.managed || !state) return;
    if (advanceBySchedule(state, this.managed.rotation, this.clock.wallNow()) === state) return;
    await this.change((current) => advanceBySchedule(current, this.managed?.rotation ?? {}, this.clock.wallNow()));
  }

  private async refreshIfStale(): Promise<void> {
    if (this.managed && this.clock.wallNow() - this.view.readAt >= this.managed.refreshIntervalMs) await this.refresh();
  }

  /** Read, change, compare-and-set; on a concurrent write, read again and redo the step against the newer state. */
  private async change(step: (state: CaStateDocument) => CaStateDocument | Promise<CaStateDocument>): Promise<CaStatus> {
    const managed = this.requireManaged('change the CA');
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const stored = await managed.store.load();
      if (!stored) throw new WeftError('STORE_CORRUPT', `CA state at ${managed.store.location} has disappeared`);
      const next = await step(stored.state);
      if (next === stored.state) {
        await this.adopt(stored);
        return this.status();
      }
      try {
        const version = await managed.store.replace(next, stored.version);
        await this.adopt({ state: next, version });
        return this.status();
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
      }
    }
    throw new WeftError('CONFLICT', `CA state at ${managed.store.location} kept changing under ${MAX_WRITE_ATTEMPTS} attempts to update it`, { retryable: true });
  }

  private async adopt(stored: StoredState): Promise<void> {
    const managed = this.requireManaged('load CA state');
    const current = this.view.stored;
    if (current && current.version === stored.version && current.state.revision === stored.state.revision) {
      this.view = { ...this.view, readAt: this.clock.wallNow() };
      return;
    }
    this.view = await buildView(stored, this.view.authorities, managed.store.location, this.clock.wallNow());
  }

  private requireManaged(what: string): NonNullable<CertificateAuthority['managed']> {
    if (!this.managed) throw new WeftError('CONFLICT', `cannot ${what}: this CA is the intermediate given by --ca-cert/--ca-key; rotate it by replacing those files`);
    return this.managed;
  }
}

/** Keys are imported once per authority id and reused across state changes. */
async function buildView(stored: StoredState, known: ReadonlyMap<string, Authority>, location: string, readAt: number): Promise<View> {
  const authorities = new Map<string, Authority>();
  for (const record of stored.state.authorities) {
    authorities.set(record.id, known.get(record.id) ?? (await restoreAuthority(record.id, record.certificatePem, record.privateKeyPem, location)));
  }
  const signing = authorities.get(stored.state.signingId) as Authority;
  return { stored, authorities, signing, bundle: bundleOf([...authorities.values()].map((a) => a.certificate.toString('pem'))), readAt };
}

function bundleOf(roots: readonly string[]): TrustBundle {
  return { roots, pem: `${roots.join('\n')}\n` };
}

function toStored(authority: Authority): StoredAuthority {
  return { id: authority.id, certificatePem: authority.certificate.toString('pem'), privateKeyPem: authority.key.pem };
}
