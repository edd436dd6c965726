// Model: the ServicePolicy schema — defaults, every field's validation message, unknown fields, and the watch wire format.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/index.js';
import {
  defaultPolicy,
  EMPTY_SNAPSHOT,
  MTLS_MODES,
  parsePolicy,
  POLICY_DEFAULTS,
  samePolicy,
  snapshotFromInstances,
  snapshotToJSON,
  watchEventSchema,
} from '../../src/model/index.js';

const issueExample = {
  kind: 'ServicePolicy',
  service: 'greeter',
  loadBalancer: { algorithm: 'p2c-ewma' },
  timeout: { requestMs: 2000, perTryMs: 500 },
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
};

function failure(input: Record<string, unknown>): { field: string; message: string } {
  try {
    parsePolicy({ service: 'greeter', ...input });
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const v = error as ValidationError;
    return { field: v.field, message: v.message.slice(v.field.length + 2) };
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('ServicePolicy schema', () => {
  it('accepts the example of the issue unchanged, filling in only route defaults', () => {
    const policy = parsePolicy(issueExample);
    expect(policy).toMatchObject(issueExample);
    expect(policy.routes[0]).toMatchObject({ match: { headers: { 'x-canary': '1' }, pathPrefix: '/' }, retry: { nonIdempotent: false } });
    expect(policy.routes[0]?.fault).toBeUndefined();
  });

  it('fills every default from one place for a bare service', () => {
    const policy = defaultPolicy('greeter');
    expect(policy).toEqual({
      kind: 'ServicePolicy',
      service: 'greeter',
      loadBalancer: { algorithm: 'round-robin' },
      timeout: { requestMs: POLICY_DEFAULTS.timeout.requestMs, perTryMs: POLICY_DEFAULTS.timeout.requestMs },
      retry: { attempts: 3, on: ['connect-failure', 'reset', 'unavailable'], budget: { ratio: 0.2, minPerSecond: 10 }, backoff: { baseMs: 25, maxMs: 250 } },
      circuitBreaker: { maxConnections: 1024, maxPendingRequests: 1024, consecutiveFailures: 0, openMs: 10_000 },
      routes: [],
    });
    expect(policy.outlierDetection).toBeUndefined();
    expect(policy.healthCheck).toBeUndefined();
  });

  it('defaults the unset fields of a section that is present', () => {
    const policy = parsePolicy({
      service: 'greeter',
      timeout: { requestMs: 800 },
      retry: { budget: { ratio: 0.5 } },
      outlierDetection: {},
      healthCheck: { tcp: {} },
      routes: [{ backends: [{}] }],
    });
    expect(policy.timeout).toEqual({ requestMs: 800, perTryMs: 800 });
    expect(policy.retry.budget).toEqual({ ratio: 0.5, minPerSecond: 10 });
    expect(policy.outlierDetection).toEqual(POLICY_DEFAULTS.outlierDetection);
    expect(policy.healthCheck).toEqual({ tcp: {}, ...POLICY_DEFAULTS.healthCheck });
    expect(policy.routes[0]).toEqual({ match: { headers: {}, pathPrefix: '/' }, backends: [{ subset: {}, weight: 1 }], retry: { nonIdempotent: false } });
  });

  it('accepts every algorithm, ring-hash keys, health-check kinds, status codes and nonIdempotent routes', () => {
    for (const algorithm of ['round-robin', 'random', 'least-connections', 'p2c-ewma', 'weighted']) {
      expect(parsePolicy({ service: 'a', loadBalancer: { algorithm } }).loadBalancer.algorithm).toBe(algorithm);
    }
    for (const hashOn of [{ header: 'x-user' }, { cookie: 'session' }, { source: true }]) {
      expect(parsePolicy({ service: 'a', loadBalancer: { algorithm: 'ring-hash', hashOn } }).loadBalancer.hashOn).toEqual(hashOn);
    }
    expect(parsePolicy({ service: 'a', healthCheck: { grpc: {} } }).healthCheck?.grpc).toEqual({});
    expect(parsePolicy({ service: 'a', healthCheck: { grpc: { service: 'greeter.v1' } } }).healthCheck?.grpc).toEqual({ service: 'greeter.v1' });
    // An unquoted YAML status code arrives as a number; it is kept as the string the wire format uses.
    expect(parsePolicy({ service: 'a', retry: { on: [503, '429'] } }).retry.on).toEqual(['503', '429']);
    expect(parsePolicy({ service: 'a', routes: [{ backends: [{}], retry: { nonIdempotent: true } }] }).routes[0]?.retry.nonIdempotent).toBe(true);
  });

  it.each([
    [{ service: 'Greeter' }, 'service', 'expected a DNS label: lowercase letters, digits and "-", 1-63 characters'],
    [{ service: 7 }, 'service', 'expected a service name'],
    [{ kind: 'Deployment' }, 'kind', 'expected "ServicePolicy"'],
    [{ loadBalancer: { algorithm: 'fastest' } }, 'loadBalancer.algorithm', 'expected one of: round-robin, random, least-connections, p2c-ewma, weighted, ring-hash'],
    [{ loadBalancer: { algorithm: 'ring-hash' } }, 'loadBalancer.hashOn', 'expected { header }, { cookie } or { source: true } for ring-hash'],
    [{ loadBalancer: { hashOn: { header: 'x-user' } } }, 'loadBalancer.hashOn', 'expected only with algorithm ring-hash'],
    [{ loadBalancer: { algorithm: 'ring-hash', hashOn: { header: 'x', cookie: 'c' } } }, 'loadBalancer.hashOn', 'expected exactly one of header, cookie or source'],
    [{ loadBalancer: { algorithm: 'ring-hash', hashOn: { header: 'X-User' } } }, 'loadBalancer.hashOn.header', 'expected a lowercase HTTP header name'],
    [{ loadBalancer: { algorithm: 'ring-hash', hashOn: { cookie: 'a b' } } }, 'loadBalancer.hashOn.cookie', 'expected a cookie name'],
    [{ loadBalancer: { algorithm: 'ring-hash', hashOn: { source: false } } }, 'loadBalancer.hashOn.source', 'expected true (hash on the client address)'],
    [{ timeout: { requestMs: 0 } }, 'timeout.requestMs', 'expected a whole number of milliseconds from 1 to 3600000'],
    [{ timeout: { requestMs: 1.5 } }, 'timeout.requestMs', 'expected a whole number of milliseconds from 1 to 3600000'],
    [{ timeout: { perTryMs: '500' } }, 'timeout.perTryMs', 'expected a whole number of milliseconds from 1 to 3600000'],
    [{ timeout: { requestMs: 100, perTryMs: 200 } }, 'timeout.perTryMs', 'expected at most requestMs (100)'],
    [{ retry: { attempts: 0 } }, 'retry.attempts', 'expected a whole number from 1 to 10'],
    [{ retry: { attempts: 11 } }, 'retry.attempts', 'expected a whole number from 1 to 10'],
    [{ retry: { on: 'reset' } }, 'retry.on', 'expected a list of retry conditions'],
    [{ retry: { on: [] } }, 'retry.on', 'expected at least one condition (attempts: 1 turns retries off)'],
    [{ retry: { on: ['timeout'] } }, 'retry.on[0]', 'expected one of: connect-failure, reset, gateway-error, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable, or an HTTP status code as a string such as "503"'],
    [{ retry: { on: ['reset', '99'] } }, 'retry.on[1]', 'expected one of: connect-failure, reset, gateway-error, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable, or an HTTP status code as a string such as "503"'],
    [{ retry: { budget: { ratio: 1.5 } } }, 'retry.budget.ratio', 'expected a number from 0 to 1'],
    [{ retry: { budget: { ratio: 'lots' } } }, 'retry.budget.ratio', 'expected a number from 0 to 1'],
    [{ retry: { budget: { minPerSecond: -1 } } }, 'retry.budget.minPerSecond', 'expected a whole number from 0 to 100000'],
    [{ retry: { backoff: { baseMs: 0 } } }, 'retry.backoff.baseMs', 'expected a whole number of milliseconds from 1 to 60000'],
    [{ retry: { backoff: { baseMs: 100, maxMs: 50 } } }, 'retry.backoff.maxMs', 'expected at least baseMs (100)'],
    [{ retry: { nonIdempotent: true } }, 'retry.nonIdempotent', 'unknown field'],
    [{ circuitBreaker: { maxConnections: 0 } }, 'circuitBreaker.maxConnections', 'expected a whole number from 1 to 1000000'],
    [{ circuitBreaker: { maxPendingRequests: 2.5 } }, 'circuitBreaker.maxPendingRequests', 'expected a whole number from 1 to 1000000'],
    [{ circuitBreaker: { consecutiveFailures: -1 } }, 'circuitBreaker.consecutiveFailures', 'expected a whole number from 0 to 10000'],
    [{ circuitBreaker: { openMs: 10 } }, 'circuitBreaker.openMs', 'expected a whole number of milliseconds from 100 to 3600000'],
    [{ outlierDetection: { consecutive5xx: 'five' } }, 'outlierDetection.consecutive5xx', 'expected a whole number from 0 to 10000'],
    [{ outlierDetection: { consecutiveGatewayErrors: -2 } }, 'outlierDetection.consecutiveGatewayErrors', 'expected a whole number from 0 to 10000'],
    [{ outlierDetection: { baseEjectionMs: 5 } }, 'outlierDetection.baseEjectionMs', 'expected a whole number of milliseconds from 100 to 3600000'],
    [{ outlierDetection: { maxEjectionPercent: 120 } }, 'outlierDetection.maxEjectionPercent', 'expected a percentage from 0 to 100'],
    [{ healthCheck: {} }, 'healthCheck', 'expected exactly one of http: { path }, tcp: {} or grpc: { service? }'],
    [{ healthCheck: { http: { path: '/a' }, tcp: {} } }, 'healthCheck', 'expected exactly one of http: { path }, tcp: {} or grpc: { service? }'],
    [{ healthCheck: { http: { path: 'healthz' } } }, 'healthCheck.http.path', 'expected an HTTP path starting with "/"'],
    [{ healthCheck: { tcp: { port: 1 } } }, 'healthCheck.tcp.port', 'unknown field'],
    [{ healthCheck: { tcp: {}, intervalMs: 50 } }, 'healthCheck.intervalMs', 'expected a whole number of milliseconds from 100 to 600000'],
    [{ healthCheck: { tcp: {}, timeoutMs: 5 } }, 'healthCheck.timeoutMs', 'expected a whole number of milliseconds from 10 to 60000'],
    [{ healthCheck: { tcp: {}, intervalMs: 500, timeoutMs: 1000 } }, 'healthCheck.timeoutMs', 'expected at most intervalMs (500)'],
    [{ healthCheck: { tcp: {}, unhealthyThreshold: 0 } }, 'healthCheck.unhealthyThreshold', 'expected a whole number from 1 to 100'],
    [{ healthCheck: { tcp: {}, healthyThreshold: 101 } }, 'healthCheck.healthyThreshold', 'expected a whole number from 1 to 100'],
    [{ routes: {} }, 'routes', 'expected a list of routes'],
    [{ routes: [{}] }, 'routes[0].backends', 'expected a list of backends'],
    [{ routes: [{ backends: [] }] }, 'routes[0].backends', 'expected at least one backend'],
    [{ routes: [{ backends: [{ weight: 0 }] }] }, 'routes[0].backends', 'expected at least one backend with a weight above 0'],
    [{ routes: [{ backends: [{ weight: -1 }] }] }, 'routes[0].backends[0].weight', 'expected a whole number from 0 to 10000'],
    [{ routes: [{ backends: [{ subset: { version: 2 } }] }] }, 'routes[0].backends[0].subset.version', 'expected a string value (quote numbers)'],
    [{ routes: [{ backends: [{ subset: 'v2' }] }] }, 'routes[0].backends[0].subset', 'expected a map of metadata keys to values'],
    [{ routes: [{ match: { headers: { 'X-Canary': '1' } }, backends: [{}] }] }, 'routes[0].match.headers.X-Canary', 'expected a lowercase HTTP header name'],
    [{ routes: [{ match: { headers: { 'x-canary': 1 } }, backends: [{}] }] }, 'routes[0].match.headers.x-canary', 'expected a string value (quote numbers)'],
    [{ routes: [{ match: { pathPrefix: 'api' }, backends: [{}] }] }, 'routes[0].match.pathPrefix', 'expected a path starting with "/"'],
    [{ routes: [{ match: { method: 'GET' }, backends: [{}] }] }, 'routes[0].match.method', 'unknown field'],
    [{ routes: [{ backends: [{}], retry: { nonIdempotent: 'yes' } }] }, 'routes[0].retry.nonIdempotent', 'expected true or false'],
    [{ routes: [{ backends: [{}], fault: { delay: { percent: 101, ms: 5 } } }] }, 'routes[0].fault.delay.percent', 'expected a percentage from 0 to 100'],
    [{ routes: [{ backends: [{}], fault: { delay: { percent: 5 } } }] }, 'routes[0].fault.delay.ms', 'expected a whole number of milliseconds from 0 to 3600000'],
    [{ routes: [{ backends: [{}], fault: { abort: { percent: 5, status: 700 } } }] }, 'routes[0].fault.abort.status', 'expected a whole number from 200 to 599'],
    [{ routes: [{ backends: [{}], fault: { crash: {} } }] }, 'routes[0].fault.crash', 'unknown field'],
    [{ loadBalancer: { algorithm: 'random', weights: 1 } }, 'loadBalancer.weights', 'unknown field'],
    [{ retires: {} }, 'retires', 'unknown field'],
  ])('rejects %j at %s', (input, field, message) => {
    expect(failure(input)).toEqual({ field, message });
  });

  it('compares policies whatever the order of keys in their maps', () => {
    const a = parsePolicy({ service: 'a', routes: [{ match: { headers: { 'x-a': '1', 'x-b': '2' } }, backends: [{}] }] });
    const b = parsePolicy({ service: 'a', routes: [{ match: { headers: { 'x-b': '2', 'x-a': '1' } }, backends: [{}] }] });
    expect(samePolicy(a, b)).toBe(true);
    expect(samePolicy(a, parsePolicy({ service: 'a' }))).toBe(false);
  });

  it('is idempotent: a stored policy parses back to itself', () => {
    const policy = parsePolicy(issueExample);
    expect(parsePolicy(JSON.parse(JSON.stringify(policy)))).toEqual(policy);
  });
});

describe('policies in snapshots and watch events', () => {
  it('starts empty and carries the map it is given', () => {
    expect(EMPTY_SNAPSHOT.policies.size).toBe(0);
    expect(snapshotFromInstances(1, []).policies.size).toBe(0);
    const policies = new Map([['greeter', defaultPolicy('greeter')]]);
    const snapshot = snapshotFromInstances(2, [], policies);
    expect(snapshot.policies.get('greeter')).toBe(policies.get('greeter'));
    expect(snapshotToJSON(snapshot).policies).toEqual({ greeter: defaultPolicy('greeter') });
  });

  it('parses policy, policy-remove and resets with or without policies', () => {
    const policy = defaultPolicy('greeter');
    expect(watchEventSchema.parse({ type: 'policy', version: 3, policy })).toEqual({ type: 'policy', version: 3, policy });
    expect(watchEventSchema.parse({ type: 'policy-remove', version: 4, service: 'greeter' })).toEqual({ type: 'policy-remove', version: 4, service: 'greeter' });
    expect(watchEventSchema.parse({ type: 'reset', version: 5, instances: [], policies: [policy] })).toMatchObject({ policies: [policy] });
    expect(watchEventSchema.parse({ type: 'reset', version: 5, instances: [] })).not.toHaveProperty('policies');
    expect(watchEventSchema.safeParse({ type: 'policy', version: 3, policy: { service: 'greeter', bogus: 1 } }).success).toBe(false);
  });
});

describe('ServicePolicy mtls', () => {
  it('takes strict, permissive or disabled, and leaves the field out when absent', () => {
    for (const mode of MTLS_MODES) expect(parsePolicy({ service: 'api', mtls: mode }).mtls).toBe(mode);
    expect('mtls' in parsePolicy({ service: 'api' })).toBe(false);
  });

  it('refuses any other value, naming the field and the choices', () => {
    expect(() => parsePolicy({ service: 'api', mtls: 'STRICT' })).toThrow(ValidationError);
    expect(() => parsePolicy({ service: 'api', mtls: 'on' })).toThrow(/mtls.*strict, permissive, disabled/);
  });
});
