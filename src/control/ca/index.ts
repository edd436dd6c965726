// Control CA: the certificate authority's place in the control plane — opening it, its routes, issuance log and metrics.
export { ControlCa, DEFAULT_TRUST_DOMAIN, type ControlCaOptions } from './control-ca.js';
export { BackendCaStore, CA_STATE_KEY } from './backend-ca-store.js';
export { addCaRoutes, caStatusReply, trustBundleReply, type CaRouteOptions } from './ca-routes.js';
export { CaMetrics } from './ca-metrics.js';
export { IssuanceLog, ISSUANCE_PREFIX } from './issuance-log.js';
export { parseCertificateRequest, MAX_CSR_BYTES } from './certificate-request.js';
