// Security/authz: authorization policies compiled for the inbound side, and the caller's identity they judge.
export * from './peer-identity.js';
export * from './header-match.js';
export * from './authorizer.js';
export * from './mtls-peers.js';
