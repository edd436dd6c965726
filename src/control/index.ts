// Control plane: the weft control server (registry, REST API, watch stream, metrics).
export { startControlPlane, DEFAULT_DATA_DIR, type ControlPlane, type ControlPlaneOptions } from './control-plane.js';
export { ADMIN_TOKEN_FILE, JOIN_TOKEN_DEFAULT_TTL_MS, type WorkloadTrustSource } from './auth/index.js';
