import { describe, it, expect } from 'vitest';
import { ManualClock, seededRng } from '../../src/core/index.js';
import { parsePolicy } from '../../src/model/index.js';
import {
  BreakerLimits,
  ConsecutiveBreaker,
  EndpointHealthChecker,
  FaultInjector,
  OutlierDetector,
  RetryBudget,
  RetryConditions,
  RouteTable,
  TrafficSplit,
} from '../../src/resilience/index.js';

// The example policy: every resilience module takes its parsed section as it is.
const policy = parsePolicy({
  kind: 'ServicePolicy',
  service: 'greeter',
  retry: { attempts: 3, on: ['connect-failure', 'reset', 'gateway-error', '503'], budget: { ratio: 0.2, minPerSecond: 10 }, backoff: { baseMs: 25, maxMs: 250 } },
  circuitBreaker: { maxConnections: 1024, maxPendingRequests: 1024, consecutiveFailures: 5, openMs: 10000 },
  outlierDetection: { consecutive5xx: 5, consecutiveGatewayErrors: 5, baseEjectionMs: 30000, maxEjectionPercent: 50 },
  healthCheck: { http: { path: '/healthz' }, intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 2 },
  routes: [
    { match: { headers: { 'x-canary': '1' } }, backends: [{ subset: { version: 'v2' }, weight: 100 }] },
    {
      match: { pathPrefix: '/' },
      backends: [{ subset: { version: 'v1' }, weight: 90 }, { subset: { version: 'v2' }, weight: 10 }],
      fault: { delay: { percent: 0, ms: 0 }, abort: { percent: 0, status: 503 } },
    },
  ],
});

describe('resilience modules built from a parsed policy', () => {
  it('accept every section without translation', () => {
    const clock = new ManualClock();
    const rng = seededRng(1);
    expect(new RetryBudget(policy.retry.budget, clock).canRetry()).toBe(true);
    expect(new RetryConditions(policy.retry).decide({ status: 503 }, 1, 'GET', 'none')).toBe('status_503');
    expect(new BreakerLimits(policy.circuitBreaker, 'greeter').limit('connections')).toBe(1024);
    expect(new ConsecutiveBreaker(policy.circuitBreaker, clock, 'greeter').state()).toBe('closed');
    expect(policy.outlierDetection && new OutlierDetector(policy.outlierDetection, clock).ejectedCount()).toBe(0);
    const checker = policy.healthCheck && new EndpointHealthChecker(policy.healthCheck, { clock, rng });
    expect(checker?.counts()).toEqual({ unknown: 0, healthy: 0, unhealthy: 0 });
    const table = new RouteTable(policy.routes);
    expect(table.match('/', { 'x-canary': '1' })).toBe(policy.routes[0]);
    const route = table.match('/hello', {});
    expect(route).toBe(policy.routes[1]);
    expect(route && new TrafficSplit(route.backends).choose(rng)?.subset).toBeDefined();
    expect(route?.fault && new FaultInjector(route.fault, rng).active).toBe(false);
  });
});
