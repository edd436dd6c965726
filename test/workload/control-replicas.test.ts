// Tests: parsing of control-plane URL lists and the sticky current replica.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/index.js';
import { ControlReplicas, parseControlUrls } from '../../src/workload/index.js';

describe('parseControlUrls', () => {
  it('accepts one URL, a comma-separated string and a list, dropping repeats', () => {
    expect(parseControlUrls('http://127.0.0.1:8500').map((u) => u.origin)).toEqual(['http://127.0.0.1:8500']);
    expect(parseControlUrls(' http://a:1 , https://b:2/ ').map((u) => u.origin)).toEqual(['http://a:1', 'https://b:2']);
    expect(parseControlUrls(['http://a:1', 'http://b:2,http://a:1']).map((u) => u.origin)).toEqual(['http://a:1', 'http://b:2']);
  });

  it('names the bad entry', () => {
    expect(() => parseControlUrls('http://a:1,ftp://b')).toThrow(ValidationError);
    expect(() => parseControlUrls('http://a:1,ftp://b')).toThrow(/"ftp:\/\/b"/);
    expect(() => parseControlUrls('http://a:1,nonsense')).toThrow(/"nonsense"/);
    expect(() => parseControlUrls('http://a:1,,http://b:2')).toThrow(/empty entry/);
    expect(() => parseControlUrls([])).toThrow(/at least one/);
  });
});

describe('ControlReplicas', () => {
  it('walks the list from the current replica and wraps around', () => {
    const replicas = new ControlReplicas('http://a:1,http://b:2,http://c:3');
    expect(replicas.size).toBe(3);
    expect(replicas.current().origin).toBe('http://a:1');
    replicas.use(2);
    expect([0, 1, 2].map((i) => replicas.at(i).origin)).toEqual(['http://c:3', 'http://a:1', 'http://b:2']);
    expect(replicas.advance()).toBe(0);
    expect(replicas.advance()).toBe(1);
    expect(replicas.current().origin).toBe('http://b:2');
  });
});
