// Control auth: API tokens, the admin token file, and the authentication of every control-plane request.
export { accessClass, type AccessClass } from './access.js';
export { AUTH_REFUSED_METRIC, ControlAuthenticator, CredentialRefusedError, type AuthenticatorOptions, type AuthRefusal, type WorkloadTrustSource } from './authenticator.js';
export { ADMIN_TOKEN_FILE, bootstrapAdminToken, createPrivateDataDir, type AdminTokenBootstrap } from './admin-token-file.js';
export { formatToken, parseToken, TOKEN_VERSION } from './token-format.js';
export { addTokenRoutes } from './token-routes.js';
export { JOIN_TOKEN_DEFAULT_TTL_MS, parseTokenSpec, TOKEN_MAX_TTL_MS, TOKEN_PREFIX, TokenStore, type TokenCheck, type TokenRefusal, type TokenSpec } from './token-store.js';
export { openControlAccess, type ControlAccess, type ControlAccessOptions } from './control-access.js';
