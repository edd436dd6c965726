// Resilience: retry policy, timeouts and health checks of the data plane.
export * from './retry.js';
export * from './app-health-check.js';
export * from './retry-budget.js';
export * from './retry-backoff.js';
export * from './retry-conditions.js';
export * from './breaker-limits.js';
export * from './breaker-consecutive.js';
export * from './outlier-detector.js';
export * from './deadline.js';
export * from './fault-injection.js';
export * from './route-match.js';
export * from './traffic-split.js';
export * from './endpoint-probes.js';
export * from './grpc-health-probe.js';
export * from './endpoint-health-checker.js';
