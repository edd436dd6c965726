// Telemetry/tracing: trace propagation, one span per hop, OTLP/HTTP export.
export * from './propagation.js';
export * from './hop-span.js';
export * from './counting-exporter.js';
export * from './tracer-setup.js';
