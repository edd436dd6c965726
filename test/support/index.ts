// Test support: the one import for helpers that start real processes and servers on free ports.
export * from './binaries.js';
export * from './ports.js';
export * from './processes.js';
export * from './etcd.js';
export * from './fluent-receiver.js';
export * from './otlp-receiver.js';
export * from './chromium.js';
