// Security/TLS: mTLS between sidecars: identities, inbound listeners by mode, outbound connectors, SPIFFE ids.
export * from './tls-errors.js';
export * from './spiffe-id.js';
export * from './renewal.js';
export * from './workload-identity.js';
export * from './mtls-listener.js';
export * from './mtls-connector.js';
export * from './mesh-tls.js';
