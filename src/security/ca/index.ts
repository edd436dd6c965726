// Security CA: the certificate authority the control plane uses to issue workload certificates and publish the trust bundle.
export { CertificateAuthority, CA_DEFAULTS, type ManagedCaOptions, type ExternalCaOptions, type TrustBundle, type CaStatus, type AuthorityStatus } from './certificate-authority.js';
export type { IssuedCertificate } from './leaf-issuer.js';
export type { ExternalAuthorityFiles } from './authority.js';
export { CsrRejectedError, type CsrRejection } from './ca-errors.js';
// The encoding of the stored state, for a store kept outside this folder (control/ca's one in the registry backend).
export { RotationPhaseError, decodeState, encodeState, type RotationPhase, type RotationSchedule, type CaStateDocument } from './ca-state.js';
export type { CaStore, StoredState } from './ca-store.js';
export { FileCaStore, CA_DIR, STATE_FILE, BUNDLE_FILE } from './file-ca-store.js';
