// weft's public API for programs that embed a control plane or a sidecar, or talk to the control plane.
export { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control/index.js';
export { startSidecar, type Sidecar } from './proxy/index.js';
export { ControlWatch, StaticSnapshotSource } from './resolve/index.js';
export { ControlClient } from './workload/index.js';
export { resolveProxyConfig, loadProxyFile, type ProxyConfig, type ProxyFile } from './config/index.js';
export { createRuntime, type RuntimeOptions } from './telemetry/index.js';
export { WeftError, type WeftErrorCode, type Runtime } from './core/index.js';
export type {
  Instance,
  InstanceRegistrationInput,
  Endpoint,
  Snapshot,
  SnapshotSource,
  WatchEvent,
  ServiceSummary,
  AuthorizationPolicy,
  AuthorizationPolicyInput,
  KindPolicy,
  PolicyKind,
} from './model/index.js';
export type { PeerIdentity, PeerIdentifier } from './security/authz/index.js';
