// Telemetry: runtime construction, metrics and logging.
export * from './runtime.js';
export * from './proxy-metrics.js';
export * from './tcp-metrics.js';
export * from './source-table.js';
export * from './istio-metrics.js';
export * from './access-log.js';
export * from './fluent-forward.js';
export * from './tracing/index.js';
export * from './process-failures.js';
export * from './observe-stage.js';
