import { describe, it, expect } from 'vitest';
import { Registry } from 'prom-client';
import { classify, createProxyMetrics } from '../../src/telemetry/index.js';

describe('proxy metrics', () => {
  it('exposes the golden metrics under lint-clean names, bound per upstream', async () => {
    const registry = new Registry();
    const metrics = createProxyMetrics(registry);
    const greeter = metrics.upstream('outbound', 'web', 'greeter');
    expect(metrics.upstream('outbound', 'web', 'greeter')).toBe(greeter);
    greeter.request(200, 0.003);
    greeter.request(200, 0.004);
    greeter.request(503, 0.001);
    greeter.retry('connect_failed');
    greeter.error('CONNECT_FAILED');
    greeter.endpoints(2, 1);
    metrics.inFlight('outbound').inc();
    // A second server on the same registry (the inbound one) reuses the families.
    createProxyMetrics(registry).upstream('inbound', 'web', 'greeter').request(200, 0.01);
    const text = await registry.metrics();
    expect(text).toContain('weft_proxy_requests_total{direction="outbound",source="web",destination="greeter",code="200",classification="success"} 2');
    expect(text).toContain('weft_proxy_requests_total{direction="inbound",source="web",destination="greeter",code="200",classification="success"} 1');
    expect(text).toContain('weft_proxy_request_duration_seconds_count{direction="outbound",source="web",destination="greeter"} 3');
    expect(text).toContain('weft_proxy_requests_total{direction="outbound",source="web",destination="greeter",code="503",classification="failure"} 1');
    expect(text).toContain('weft_proxy_retries_total{service="greeter",reason="connect_failed"} 1');
    expect(text).toContain('weft_proxy_errors_total{direction="outbound",source="web",destination="greeter",code="CONNECT_FAILED"} 1');
    expect(text).toContain('weft_proxy_in_flight{direction="outbound"} 1');
    expect(text).toContain('weft_proxy_endpoints{service="greeter",health="critical"} 1');
    // promtool's naming rules: snake_case, counters end in _total, units as suffixes in base units.
    for (const m of await registry.getMetricsAsJSON()) {
      expect(m.name).toMatch(/^[a-z_][a-z0-9_]*$/);
      if (String(m.type) === 'counter') expect(m.name).toMatch(/_total$/);
      else expect(m.name).not.toMatch(/_total$/);
      expect(m.help.length).toBeGreaterThan(0);
    }
  });

  it('adds counts taken between scrapes, and sums the in-flight counts of servers sharing a registry', async () => {
    const registry = new Registry();
    const first = createProxyMetrics(registry);
    const second = createProxyMetrics(registry);
    const greeter = first.upstream('outbound', 'web', 'greeter');
    greeter.request(200, 0.001);
    expect(await registry.metrics()).toContain('weft_proxy_requests_total{direction="outbound",source="web",destination="greeter",code="200",classification="success"} 1');
    greeter.request(200, 0.001);
    greeter.request(499, 0.002);
    first.inFlight('outbound').inc();
    first.inFlight('outbound').inc();
    second.inFlight('outbound').inc();
    second.inFlight('inbound').inc();
    let text = await registry.metrics();
    expect(text).toContain('weft_proxy_requests_total{direction="outbound",source="web",destination="greeter",code="200",classification="success"} 2');
    expect(text).toContain('weft_proxy_requests_total{direction="outbound",source="web",destination="greeter",code="499",classification="failure"} 1');
    expect(text).toContain('weft_proxy_in_flight{direction="outbound"} 3');
    expect(text).toContain('weft_proxy_in_flight{direction="inbound"} 1');
    first.inFlight('outbound').dec();
    text = await registry.metrics();
    expect(text).toContain('weft_proxy_in_flight{direction="outbound"} 2');
    expect(text).toContain('weft_proxy_requests_total{direction="outbound",source="web",destination="greeter",code="200",classification="success"} 2');
  });

  it('classifies 5xx, broken responses (0) and clients that left (499) as failures, the rest as successes', () => {
    expect([100, 200, 204, 301, 404, 429].map(classify)).toEqual(Array(6).fill('success'));
    expect([0, 499, 500, 502, 503, 504].map(classify)).toEqual(Array(6).fill('failure'));
  });

  it('keeps each source and destination pair apart, in requests, latency and errors', async () => {
    const registry = new Registry();
    const metrics = createProxyMetrics(registry);
    metrics.upstream('inbound', 'web', 'greeter').request(200, 0.001);
    metrics.upstream('inbound', 'batch', 'greeter').request(200, 0.001);
    metrics.upstream('inbound', 'batch', 'greeter').error('APP_UNAVAILABLE');
    const text = await registry.metrics();
    expect(text).toContain('weft_proxy_requests_total{direction="inbound",source="web",destination="greeter",code="200",classification="success"} 1');
    expect(text).toContain('weft_proxy_requests_total{direction="inbound",source="batch",destination="greeter",code="200",classification="success"} 1');
    expect(text).toContain('weft_proxy_request_duration_seconds_count{direction="inbound",source="batch",destination="greeter"} 1');
    expect(text).toContain('weft_proxy_errors_total{direction="inbound",source="batch",destination="greeter",code="APP_UNAVAILABLE"} 1');
    expect(text).not.toMatch(/weft_proxy_errors_total\{[^}]*source="web"/);
  });
});
