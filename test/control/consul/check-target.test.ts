// Consul API: the one rule for what an HTTP or TCP check may connect to — the instance's own host, any port or path, with sendable headers.
import { describe, expect, it } from 'vitest';
import { checkTarget } from '../../../src/control/consul/check-target.js';
import type { CheckDefinition } from '../../../src/control/consul/index.js';
import { HostPolicy } from '../../../src/model/index.js';

const policy = new HostPolicy();
const http = (target: string, extra: Partial<CheckDefinition> = {}): CheckDefinition => ({ id: 'c', name: 'c', kind: 'http', target, initial: 'critical', ...extra });
const tcp = (target: string): CheckDefinition => ({ id: 'c', name: 'c', kind: 'tcp', target, initial: 'critical' });

describe('checkTarget', () => {
  it('accepts the own host at any port or path, in any spelling of an IPv6 address', () => {
    expect(checkTarget(http('http://10.0.0.7:9999/deep/path?q=1'), '10.0.0.7', policy)).toMatchObject({ ok: true, target: { kind: 'http', method: 'GET' } });
    expect(checkTarget(http('https://[fd00:0:0::7]/'), 'fd00::7', policy).ok).toBe(true);
    expect(checkTarget(tcp('[fd00::7]:22'), 'fd00::7', policy)).toEqual({ ok: true, target: { kind: 'tcp', host: 'fd00::7', port: 22 } });
    expect(checkTarget(http('http://WEB.internal./'), 'web.internal', policy).ok).toBe(true);
  });

  it('names the field a refusal is about', () => {
    const field = (check: CheckDefinition, own = '10.0.0.7', using = policy): string | undefined => {
      const checked = checkTarget(check, own, using);
      return checked.ok ? undefined : checked.field;
    };
    expect(field(http('http://10.0.0.8/'))).toBe('HTTP');
    // A URL parser reads these as 10.0.0.7's neighbours or as numbers: compared after parsing, never as text.
    expect(field(http('http://167772168/'))).toBe('HTTP');
    expect(field(http('http://10.0.0.7/'), '10.0.0.7', new HostPolicy({ deny: ['10.0.0.0/8'] }))).toBe('HTTP');
    expect(field(tcp('10.0.0.8:22'))).toBe('TCP');
    expect(field(tcp('10.0.0.7:0'))).toBe('TCP');
    expect(field(http('http://10.0.0.7/', { method: 'get' }))).toBe('Method');
    expect(field(http('http://10.0.0.7/', { headers: { 'a:b': ['x'] } }))).toBe('Header');
    expect(field(http('http://10.0.0.7/', { headers: { ok: ['x\u0000'] } }))).toBe('Header');
    expect(field({ id: 'c', name: 'c', kind: 'ttl', ttlMs: 1_000, initial: 'critical' })).toBe('HTTP');
  });
});
