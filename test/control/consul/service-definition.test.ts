// Consul API: Consul service definitions mapped onto weft registrations, checks and leases.
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseServiceDefinition } from '../../../src/control/consul/index.js';
import { ValidationError } from '../../../src/core/index.js';

function fieldOf(body: unknown): string {
  try {
    parseServiceDefinition(body);
  } catch (error) {
    if (error instanceof ValidationError) return error.field;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('Consul service definitions', () => {
  it('maps Name, ID, Address, Port, Tags, Meta and Weights with weft defaults', () => {
    const { registration, checks } = parseServiceDefinition({ Name: 'web', Port: 80 });
    expect(registration).toEqual({ id: 'web', service: 'web', host: '127.0.0.1', port: 80, weight: 1, meta: {}, tags: [], ttlMs: 3_600_000 });
    expect(checks).toEqual([]);
    const full = parseServiceDefinition({ Name: 'web', ID: 'web-2', Address: '10.0.0.1', Port: 81, Tags: ['a'], Meta: { k: 'v' }, Weights: { Passing: 5, Warning: 1 }, EnableTagOverride: true });
    expect(full.registration).toMatchObject({ id: 'web-2', host: '10.0.0.1', port: 81, tags: ['a'], meta: { k: 'v' }, weight: 5 });
  });

  it('reads field names case-insensitively, as Consul does', () => {
    const { registration, checks } = parseServiceDefinition({ name: 'web', port: 80, check: { ttl: '5s' } });
    expect(registration.service).toBe('web');
    expect(checks[0]).toMatchObject({ id: 'service:web', kind: 'ttl', ttlMs: 5_000, initial: 'critical' });
  });

  it('names checks as Consul does and sizes the lease from them', () => {
    const ttl = parseServiceDefinition({ Name: 'web', ID: 'w1', Port: 80, Check: { TTL: '15s' } });
    expect(ttl.checks.map((c) => c.id)).toEqual(['service:w1']);
    expect(ttl.registration.ttlMs).toBe(15_000);
    const many = parseServiceDefinition({ Name: 'web', ID: 'w1', Port: 80, Checks: [{ HTTP: 'http://127.0.0.1:80/h', Interval: '2s', Timeout: '1s' }, { TCP: '127.0.0.1:80', Interval: '500ms', CheckID: 'port' }] });
    expect(many.checks.map((c) => c.id)).toEqual(['service:w1:1', 'port']);
    // Intervals are clamped to one second; the lease covers three intervals plus a timeout of the slowest check.
    expect(many.checks[1]?.intervalMs).toBe(1_000);
    expect(many.registration.ttlMs).toBe(7_000);
  });

  it('names the offending Consul field', () => {
    expect(fieldOf({ Name: 'web' })).toBe('Port');
    expect(fieldOf({ Name: 'Web Server', Port: 80 })).toBe('Name');
    expect(fieldOf({ Port: 80 })).toBe('Name');
    expect(fieldOf({ Name: 'web', ID: '-bad', Port: 80 })).toBe('ID');
    expect(fieldOf({ Name: 'web', Port: 80, Check: { TTL: '500ms' } })).toBe('Check.TTL');
    expect(fieldOf({ Name: 'web', Port: 80, Check: { HTTP: 'ftp://x', Interval: '1s' } })).toBe('Check.HTTP');
    expect(fieldOf({ Name: 'web', Port: 80, Check: { TCP: 'nohost', Interval: '1s' } })).toBe('Check.TCP');
    expect(fieldOf({ Name: 'web', Port: 80, Check: {} })).toBe('Check');
    expect(fieldOf({ Name: 'web', Port: 80, Check: { TTL: '5s', Status: 'ok' } })).toBe('Check.Status');
    expect(fieldOf({ Name: 'web', Port: 80, Checks: [{ TTL: '5s' }, { Args: ['/bin/true'], Interval: '1s' }] })).toBe('Checks[1].Args');
    expect(fieldOf({ Name: 'web', Port: 80, Checks: [{ TTL: '5s', CheckID: 'a' }, { TTL: '5s', CheckID: 'a' }] })).toBe('Checks[1]');
    expect(fieldOf([])).toBe('');
  });

  it('takes only a host as Address, trimmed, as the registry does', () => {
    expect(parseServiceDefinition({ Name: 'web', Port: 80, Address: ' 10.0.0.1 ' }).registration.host).toBe('10.0.0.1');
    expect(parseServiceDefinition({ Name: 'web', Port: 80, Address: '10.0.0.1\r\n' }).registration.host).toBe('10.0.0.1');
    expect(parseServiceDefinition({ Name: 'web', Port: 80, Address: '' }).registration.host).toBe('127.0.0.1');
    expect(parseServiceDefinition({ Name: 'web', Port: 80, Address: 'FD00::1' }).registration.host).toBe('fd00::1');
    for (const address of ['a b', '[::1]', '127.0.0.1:9/x', 'x\r\ny', '10.0.0.1\r\nX-Injected: 1', 'fe80::1%eth0', 7]) {
      expect(fieldOf({ Name: 'web', Port: 80, Address: address }), JSON.stringify(address)).toBe('Address');
    }
  });

  it('refuses check headers and targets Node cannot send, naming the field', () => {
    const http = { HTTP: 'http://127.0.0.1:80/', Interval: '1s' };
    expect(fieldOf({ Name: 'web', Port: 80, Check: { ...http, Header: { 'Bad Header': ['x'] } } })).toBe('Check.Header');
    expect(fieldOf({ Name: 'web', Port: 80, Check: { ...http, Header: { 'X-Ok': ['a\r\nb'] } } })).toBe('Check.Header.X-Ok[0]');
    expect(fieldOf({ Name: 'web', Port: 80, Check: { ...http, Header: { 'X-Ok': 'a\nb' } } })).toBe('Check.Header.X-Ok');
    for (const tcp of ['127.0.0.1:99999', '127.0.0.1:0', 'a b:80', '::1:80', '[10.0.0.1]:80']) {
      expect(fieldOf({ Name: 'web', Port: 80, Checks: [{ TCP: tcp, Interval: '1s' }] }), tcp).toBe('Checks[0].TCP');
    }
    const ok = parseServiceDefinition({ Name: 'web', Port: 80, Check: { ...http, Header: { 'X-Ok': 'v', Host: ['web.internal'] } } });
    expect(ok.checks[0]?.headers).toEqual({ 'X-Ok': ['v'], Host: ['web.internal'] });
  });

  it('parses and prints Go durations', () => {
    expect(parseDuration('1m30s', 'x')).toBe(90_000);
    expect(parseDuration('1.5s', 'x')).toBe(1_500);
    expect(parseDuration('100ms', 'x')).toBe(100);
    expect(parseDuration(2_000_000_000, 'x')).toBe(2_000);
    expect(() => parseDuration('5 seconds', 'Check.TTL')).toThrow(/^Check\.TTL: /);
    expect(formatDuration(10_000)).toBe('10s');
    expect(formatDuration(120_000)).toBe('2m0s');
    expect(formatDuration(250)).toBe('250ms');
  });
});
