// Security/TLS: the workload's current key, certificate chain and trust bundle, swapped whole on renewal or CA rotation.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { systemClock, type Clock } from '../../core/index.js';
import { pemCertificateBlocks } from '../pem.js';
import { renewalTime, RenewalTimer, type TimerHost } from './renewal.js';
import { spiffeIdOfSubjectAltName } from './spiffe-id.js';
import { IdentityInvalidError } from './tls-errors.js';

/** What a workload holds, all PEM: its private key, its chain (leaf first, then intermediates) and the roots it trusts. */
export interface IdentityMaterial {
  readonly key: string;
  readonly certChain: string;
  /** One or more roots; during a CA rotation the old and the new root together. */
  readonly trustBundle: string;
}

/** One validated generation of material with the facts read from its leaf. */
export interface IdentityState {
  readonly material: IdentityMaterial;
  readonly spiffeId: string;
  /** Wall-clock milliseconds. */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly renewAt: number;
  /** The options node:tls builds contexts from: TLS 1.3 only. */
  readonly contextOptions: SecureContextOptions;
  /** A context built once from `contextOptions`, shared by every connection this generation makes. */
  readonly secureContext: SecureContext;
}

export type IdentityListener = (state: IdentityState) => void;

export interface WorkloadIdentityOptions {
  clock?: Clock;
  /**
   * Called once the current certificate reaches its renewal time (2/3 of its lifetime, by the clock's
   * wall time); an update re-arms it for the new certificate. The sidecar sends a new CSR from here.
   */
  onRenewalDue?: (state: IdentityState) => void;
  /** The timers the renewal timer arms; real ones unless a test hands in its own. */
  timers?: TimerHost;
  /**
   * What the lifetime is counted from: the leaf's notBefore (default), or the moment the certificate was handed
   * to this identity when that is later. A CA that backdates notBefore against clock skew (weft's does, by a
   * minute) would otherwise make a short-lived certificate due for renewal as soon as it arrives.
   */
  lifetimeFrom?: 'notBefore' | 'received';
}


/**
 * The one place a sidecar keeps its TLS identity. Servers and connectors read `current` for each new
 * connection (or are told through `onUpdate`), so an update changes what new handshakes present and
 * trust while established connections carry on with what they negotiated.
 */
export class WorkloadIdentity {
  private state: IdentityState;
  private readonly listeners = new Set<IdentityListener>();
  private readonly clock: Clock;
  private readonly renewal: RenewalTimer | null;
  private readonly fromReceipt: boolean;

  constructor(material: IdentityMaterial, options: WorkloadIdentityOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.fromReceipt = options.lifetimeFrom === 'received';
    this.state = this.received(readIdentity(material), null);
    const onRenewalDue = options.onRenewalDue;
    this.renewal = onRenewalDue ? new RenewalTimer(this.clock, () => onRenewalDue(this.state), options.timers) : null;
    this.renewal?.schedule(this.state.renewAt);
  }

  get current(): IdentityState {
    return this.state;
  }

  get spiffeId(): string {
    return this.state.spiffeId;
  }

  /** Whether the leaf has expired by the clock's wall time. */
  expired(): boolean {
    return this.clock.wallNow() >= this.state.notAfter;
  }

  /**
   * Replaces the material (a renewed certificate, a new key, a new trust bundle) after checking it: a
   * chain whose leaf does not match the key or names another workload is an IdentityInvalidError and the
   * old material stays. Listeners hear of the new state before this returns.
   */
  update(material: IdentityMaterial): IdentityState {
    const next = this.received(readIdentity(material), this.state);
    if (next.spiffeId !== this.state.spiffeId) {
      throw new IdentityInvalidError(`the new certificate names ${next.spiffeId}, this workload is ${this.state.spiffeId}`);
    }
    this.state = next;
    this.renewal?.schedule(next.renewAt);
    for (const listener of this.listeners) listener(next);
    return next;
  }

  /** The state with its renewal time counted from receipt when so configured; a new bundle for the same leaf keeps it. */
  private received(state: IdentityState, previous: IdentityState | null): IdentityState {
    if (!this.fromReceipt) return state;
    if (previous !== null && previous.material.certChain === state.material.certChain) return { ...state, renewAt: previous.renewAt };
    return { ...state, renewAt: renewalTime(Math.max(state.notBefore, this.clock.wallNow()), state.notAfter) };
  }

  /** Stops the renewal timer; the identity stays usable. */
  stop(): void {
    this.renewal?.stop();
  }

  /** Calls `listener` after every update; returns the function that stops it. */
  onUpdate(listener: IdentityListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Validates material and reads its leaf; any problem is an IdentityInvalidError. */
export function readIdentity(material: IdentityMaterial): IdentityState {
  const chain = pemCertificateBlocks(material.certChain);
  if (chain.length === 0) throw new IdentityInvalidError('the certificate chain holds no PEM certificate');
  // Each root on its own: PEM blocks glued without a newline would otherwise leave all but the first unread.
  const roots = pemCertificateBlocks(material.trustBundle);
  if (roots.length === 0) throw new IdentityInvalidError('the trust bundle holds no PEM certificate');
  roots.forEach((root, index) => {
    try {
      new X509Certificate(root);
    } catch (err) {
      throw new IdentityInvalidError(`trust bundle certificate ${index + 1} cannot be parsed`, err);
    }
  });
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(chain[0]!);
  } catch (err) {
    throw new IdentityInvalidError('the leaf certificate cannot be parsed', err);
  }
  let keyMatches: boolean;
  try {
    keyMatches = leaf.checkPrivateKey(createPrivateKey(material.key));
  } catch (err) {
    throw new IdentityInvalidError('the private key cannot be parsed', err);
  }
  if (!keyMatches) throw new IdentityInvalidError('the private key does not match the leaf certificate');
  const spiffeId = spiffeIdOfSubjectAltName(leaf.subjectAltName);
  if (spiffeId === null) throw new IdentityInvalidError('the leaf certificate carries no single spiffe:// URI SAN');
  const notBefore = Date.parse(leaf.validFrom);
  const notAfter = Date.parse(leaf.validTo);
  const contextOptions: SecureContextOptions = {
    key: material.key,
    cert: chain.join('\n'),
    ca: roots,
    minVersion: 'TLSv1.3',
  };
  let secureContext: SecureContext;
  try {
    secureContext = createSecureContext(contextOptions);
  } catch (err) {
    throw new IdentityInvalidError('node:tls refused the material', err);
  }
  return { material, spiffeId, notBefore, notAfter, renewAt: renewalTime(notBefore, notAfter), contextOptions, secureContext };
}
