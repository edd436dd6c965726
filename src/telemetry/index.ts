// Telemetry: runtime construction, metrics, logs and the observe stage. Tracing (OpenTelemetry) and Fluent forwarding are
// imported from './tracing/index.js' and './fluent-forward.js' by those who turn them on, so a process without them loads neither.
export * from './runtime.js';
export * from './proxy-metrics.js';
export * from './tcp-metrics.js';
export * from './source-table.js';
export * from './istio-metrics.js';
export * from './access-log.js';
export * from './observe-stage.js';
export * from './process-failures.js';
export type { HopEnd, HopSpan, HopSpans, HopTracer, Tracing, TracingOptions } from './tracing/index.js';
export type { FluentForward, FluentForwardOptions } from './fluent-forward.js';
